import { useState } from 'react';
import type { FormEvent } from 'react';
import { roleAtLeast } from '../api/client';
import { Field, messagesFor } from '../fields';
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

/** The fields of an endpoint the API may name in a 422 INVALID_ENDPOINT. */
export const ENDPOINT_FIELDS = ['url', 'eventPatterns', 'description'] as const;

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
      <Field id="endpoint-url" label="URL" messages={messagesFor(error, 'url')}>
        {(props) => (
          <input
            {...props}
            type="url"
            required
            value={url}
            onChange={(event) => setUrl(event.target.value)}
          />
        )}
      </Field>
      <Field
        id="endpoint-patterns"
        label="Event patterns"
        hint="One a line: * is one segment, ** one or more."
        messages={messagesFor(error, 'eventPatterns')}
      >
        {(props) => (
          <textarea
            {...props}
            required
            rows={3}
            value={patterns}
            onChange={(event) => setPatterns(event.target.value)}
          />
        )}
      </Field>
      <Field id="endpoint-description" label="Description" messages={messagesFor(error, 'description')}>
        {(props) => (
          <input {...props} value={description} onChange={(event) => setDescription(event.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={pending}>
        {submitLabel}
      </button>
    </form>
  );
}
