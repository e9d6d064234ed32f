import { useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError, roleAtLeast } from '../api/client';
import type { Schemas } from '../api/client';
import { useSession } from '../session';

export type WebhookEndpoint = Schemas['WebhookEndpointDto'];
export type WebhookDelivery = Schemas['WebhookDeliveryDto'];
export type DeliveryStatus = WebhookDelivery['status'];
export const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

/**
 * Every webhooks query key starts with 'webhooks', so the live stream's deliveries (and any change
 * made here) refresh them together.
 */
export const webhookKeys = {
  all: ['webhooks'] as const,
  endpoints: ['webhooks', 'endpoints'] as const,
  endpoint: (id: string) => ['webhooks', 'endpoint', id] as const,
  deliveries: (endpointId: string) => ['webhooks', 'deliveries', endpointId] as const,
  delivery: (id: string) => ['webhooks', 'delivery', id] as const,
};

/** Webhook endpoints are admin's: the API refuses every other role. */
export function useIsAdmin(): boolean {
  const session = useSession();
  return session.data ? roleAtLeast(session.data.role, 'admin') : false;
}

export function AdminsOnly() {
  return <p>Webhook endpoints are managed by admins; your role cannot see them.</p>;
}

/** An endpoint's state in words: what a person checks first. */
export function endpointState(endpoint: WebhookEndpoint): { label: string; className: string } {
  if (!endpoint.enabled) return { label: 'disabled', className: 'status status-dead' };
  if (endpoint.failingSince) return { label: 'failing', className: 'status status-failed' };
  return { label: 'enabled', className: 'status status-succeeded' };
}

/** The API's refusal of an endpoint (422 INVALID_ENDPOINT), with its problems by field. */
export class InvalidEndpoint extends ApiError {
  constructor(
    error: ApiError,
    readonly fields: Record<string, string[]>,
  ) {
    super(error.status, error.code, error.message, error.details);
  }
}

/**
 * The error of a failed endpoint write: an InvalidEndpoint when the API named fields, so the form
 * shows each problem at its field, else an ApiError as `unwrap` makes.
 */
export function endpointError(result: { error?: unknown; response: Response }): ApiError {
  const body = (result.error ?? {}) as { error?: string; message?: string; details?: unknown };
  const fields: Record<string, string[]> = {};
  if (Array.isArray(body.details)) {
    for (const detail of body.details as unknown[]) {
      if (typeof detail === 'object' && detail !== null && 'field' in detail && 'problems' in detail) {
        const { field, problems } = detail;
        if (Array.isArray(problems)) fields[String(field)] = problems.map(String);
      }
    }
  }
  const details = Array.isArray(body.details)
    ? (body.details as unknown[]).filter((detail) => typeof detail === 'string')
    : [];
  const error = new ApiError(
    result.response.status,
    body.error ?? String(result.response.status),
    body.message ?? (result.response.statusText || 'request failed'),
    details,
  );
  return Object.keys(fields).length > 0 ? new InvalidEndpoint(error, fields) : error;
}

export interface EndpointFields {
  url: string;
  eventPatterns: string[];
  description: string | null;
}

/** Create and edit share one form: url, event patterns (one a line), description. */
export function EndpointForm({
  initial,
  submitLabel,
  pending,
  error,
  onSubmit,
}: {
  initial: EndpointFields;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (fields: EndpointFields) => void;
}) {
  const [url, setUrl] = useState(initial.url);
  const [patterns, setPatterns] = useState(initial.eventPatterns.join('\n'));
  const [description, setDescription] = useState(initial.description ?? '');
  const fields = error instanceof InvalidEndpoint ? error.fields : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit({
      url: url.trim(),
      eventPatterns: patterns
        .split(/[\n,]/)
        .map((pattern) => pattern.trim())
        .filter(Boolean),
      description: description.trim() || null,
    });
  };
  return (
    <form className="endpoint-form" onSubmit={submit} aria-label={submitLabel}>
      <label>
        URL
        <input
          type="url"
          required
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          aria-invalid={fields.url ? true : undefined}
          aria-describedby={fields.url ? 'url-problems' : undefined}
        />
      </label>
      <FieldProblems id="url-problems" problems={fields.url} />
      <label>
        Event patterns, one a line (<code>*</code> is one segment, <code>**</code> one or more)
        <textarea
          required
          rows={3}
          value={patterns}
          onChange={(event) => setPatterns(event.target.value)}
          aria-invalid={fields.eventPatterns ? true : undefined}
          aria-describedby={fields.eventPatterns ? 'patterns-problems' : undefined}
        />
      </label>
      <FieldProblems id="patterns-problems" problems={fields.eventPatterns} />
      <label>
        Description
        <input value={description} onChange={(event) => setDescription(event.target.value)} />
      </label>
      <FieldProblems id="description-problems" problems={fields.description} />
      <button type="submit" disabled={pending}>
        {submitLabel}
      </button>
    </form>
  );
}

function FieldProblems({ id, problems }: { id: string; problems: string[] | undefined }) {
  if (!problems || problems.length === 0) return null;
  return (
    <p id={id} className="error field-error">
      {problems.join('; ')}
    </p>
  );
}
