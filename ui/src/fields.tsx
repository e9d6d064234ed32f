import type { ReactNode } from 'react';
import { ApiError, unwrap } from './api/client';

/** Messages per form field, keyed by the API's field path (`filter`, `jobOptions.priority`). */
export type FieldMessages = Record<string, string[]>;

/** An API refusal whose details name fields: each message is shown at its field, and all in the banner. */
export class FieldsError extends ApiError {
  constructor(
    base: ApiError,
    readonly fields: FieldMessages,
    details: string[],
  ) {
    super(base.status, base.code, base.message, details);
  }
}

/** A value typed into a JSON field that does not parse; shown at that field without asking the API. */
export function jsonFieldError(field: string, message: string): FieldsError {
  const text = `not valid JSON: ${message}`;
  return new FieldsError(
    new ApiError(400, 'INVALID_JSON', `${field} is not valid JSON`),
    { [field]: [text] },
    [`${field}: ${text}`],
  );
}

/**
 * Like `unwrap`, but reads the field problems the API puts in `details`: `{ field, problems }`
 * (routes, schedules), `{ path, message }` (connections' JSON pointers), or class-validator's
 * sentences, which start with the property's path. `codeFields` names the field an error code
 * without details is about (UNKNOWN_JOB_TYPE is about the job type).
 */
export function unwrapFields<T>(
  result: { data?: T; error?: unknown; response: Response },
  known: readonly string[],
  codeFields: Record<string, string> = {},
): T {
  try {
    return unwrap(result);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const raw = (result.error as { details?: unknown } | undefined)?.details;
    const fields: FieldMessages = {};
    const add = (field: string, message: string) => (fields[field] ??= []).push(message);
    const lines: string[] = [];
    for (const item of Array.isArray(raw) ? (raw as unknown[]) : []) {
      const detail = item as { field?: unknown; problems?: unknown; path?: unknown; message?: unknown };
      if (typeof detail.field === 'string' && Array.isArray(detail.problems)) {
        for (const problem of detail.problems) {
          add(detail.field, String(problem));
          lines.push(`${detail.field}: ${String(problem)}`);
        }
      } else if (typeof detail.path === 'string' && typeof detail.message === 'string') {
        const field = detail.path.replace(/^\//, '').replaceAll('/', '.');
        add(field, detail.message);
        lines.push(`${field}: ${detail.message}`);
      } else if (typeof item === 'string') {
        const path = /^([\w.]+) /.exec(item)?.[1];
        if (path && known.includes(path.split('.')[0])) add(path, item);
        lines.push(item);
      } else {
        lines.push(JSON.stringify(item));
      }
    }
    const codeField = codeFields[error.code];
    if (codeField && Object.keys(fields).length === 0) add(codeField, error.message);
    throw new FieldsError(error, fields, lines);
  }
}

/** The messages for one input: its own, and those of paths inside it (`payload.orderId`). */
export function messagesFor(error: unknown, field: string): string[] {
  if (!(error instanceof FieldsError)) return [];
  return Object.entries(error.fields).flatMap(([path, messages]) => {
    if (path === field) return messages;
    if (path.startsWith(`${field}.`)) return messages.map((m) => `${path.slice(field.length + 1)}: ${m}`);
    return [];
  });
}

/**
 * A labelled input with the API's messages for its field right below it, tied to it by
 * aria-describedby and marked aria-invalid, so a screen reader reads them with the field.
 */
export function Field({
  id,
  label,
  hint,
  messages,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  messages: string[];
  children: (props: {
    id: string;
    'aria-invalid': boolean | undefined;
    'aria-describedby': string | undefined;
  }) => ReactNode;
}) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [messages.length > 0 ? errorId : '', hint ? hintId : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        'aria-invalid': messages.length > 0 ? true : undefined,
        'aria-describedby': describedBy || undefined,
      })}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {messages.length > 0 && (
        <p className="field-error" id={errorId}>
          {messages.join('; ')}
        </p>
      )}
    </div>
  );
}

/** JSON typed into a textarea: undefined when left empty. Throws a FieldsError for that field otherwise. */
export function parseJsonField(field: string, text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw jsonFieldError(field, (error as Error).message);
  }
}

export function jsonText(value: unknown): string {
  return value === null || value === undefined ? '' : JSON.stringify(value, null, 2);
}
