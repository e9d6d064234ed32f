import type { DEFERRED_CODE } from '../../jobs/jobs.contract.js';
import { maskSecrets } from './mask-url.js';

/**
 * What the job engine does with each code (jobs/job-failure.ts `describeFailure` reads `code` and
 * `retryAfterMs` off any thrown error, so a handler can let these propagate untouched):
 * TEMPORARY is retried with backoff, RATE_LIMITED retried after `retryAfterMs`, and AUTH,
 * NOT_FOUND and PERMANENT are dead at once. DEFERRED (the connection's own rate budget is spent,
 * so the partner was not called) puts the job back for `retryAfterMs` without spending an attempt.
 */
export type ProviderErrorCode =
  'TEMPORARY' | 'RATE_LIMITED' | 'AUTH' | 'NOT_FOUND' | 'PERMANENT' | typeof DEFERRED_CODE;

export interface ProviderErrorDetails {
  /** The partner's HTTP status, when it answered at all. */
  status?: number;
  retryAfterMs?: number;
  /**
   * The partner gave no wait, so `retryAfterMs` is the client's default for a 429: for callers
   * with a retry schedule of their own (webhook deliveries), which applies instead.
   */
  retryAfterDefaulted?: boolean;
  /**
   * The start of an error response's body (4 KB), as received: for callers that keep it (webhook
   * attempts). Never put in the message, which may be logged.
   */
  responseText?: string;
  cause?: unknown;
}

/**
 * A partner call that did not succeed. The message is built by the HTTP client from the masked URL
 * and at most a short excerpt of a text body, so it is safe to store in job logs.
 */
export class ProviderError extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly retryAfterDefaulted?: boolean;
  readonly responseText?: string;

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    details: ProviderErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ProviderError';
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.retryAfterDefaulted) this.retryAfterDefaulted = true;
    if (details.responseText !== undefined) this.responseText = details.responseText;
  }
}

const MAX_EXCERPT_CHARS = 200;

/**
 * The part of an error body worth putting in a message: only text or JSON (a binary or HTML page
 * says nothing useful), on one line, at most 200 characters, with every known secret masked in
 * case the partner echoes the credential back. `null` when there is nothing to show.
 */
export function bodyExcerpt(
  text: string,
  contentType: string | undefined,
  secrets: readonly string[] = [],
): string | null {
  if (!isTextOrJson(contentType)) return null;
  const masked = maskSecrets(text, secrets);
  // Control characters (CR/LF included) would let a partner forge extra log lines.
  // eslint-disable-next-line no-control-regex
  const excerpt = masked.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (excerpt.length === 0) return null;
  return excerpt.length > MAX_EXCERPT_CHARS ? `${excerpt.slice(0, MAX_EXCERPT_CHARS)}…` : excerpt;
}

export function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function isTextOrJson(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return (mediaType.startsWith('text/') && mediaType !== 'text/html') || isJsonContentType(contentType);
}
