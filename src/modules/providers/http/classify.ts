import { ProviderError } from './provider-error.js';
import type { ProviderErrorCode } from './provider-error.js';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface StatusVerdict {
  code: ProviderErrorCode;
  retryAfterMs?: number;
  /** A 429 without a readable Retry-After: `retryAfterMs` is DEFAULT_RATE_LIMIT_WAIT_MS. */
  retryAfterDefaulted?: boolean;
}

/**
 * A 429 without Retry-After still means "slow down": waiting one second before the retry is
 * gentler on the partner than the engine's first backoff step, and short enough not to stall a flow.
 * It is also the shortest wait a rate limit gets: a `Retry-After: 0` (or a date already past) on
 * every answer would otherwise spend all of a job's attempts within milliseconds.
 */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

/**
 * How the job engine should treat a partner's answer: `null` when it is not a failure (2xx, and
 * 3xx, which the client reports on its own), else the code and, for rate limits, how long to wait.
 */
export function classifyStatus(status: number, headers: ResponseHeaders, now: Date): StatusVerdict | null {
  if (status >= 200 && status < 400) return null;
  const told = parseRetryAfter(firstHeader(headers, 'retry-after'), now);
  const retryAfterMs = told === null ? null : Math.max(told, DEFAULT_RATE_LIMIT_WAIT_MS);
  if (status === 429) {
    return retryAfterMs === null
      ? { code: 'RATE_LIMITED', retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS, retryAfterDefaulted: true }
      : { code: 'RATE_LIMITED', retryAfterMs };
  }
  // A 503 that says when to come back is a rate limit; without it, just an outage like any 5xx.
  if (status === 503 && retryAfterMs !== null) return { code: 'RATE_LIMITED', retryAfterMs };
  if (status >= 500 && status < 600) return { code: 'TEMPORARY' };
  switch (status) {
    case 408:
      return { code: 'TEMPORARY' };
    case 401:
    case 403:
      return { code: 'AUTH' };
    case 404:
    case 410:
      return { code: 'NOT_FOUND' };
  }
  // Other 4xx (our request is wrong) and statuses outside HTTP's ranges: retrying will not help.
  return { code: 'PERMANENT' };
}

const DELTA_SECONDS = /^-?\d+$/;
// The three forms RFC 9110 asks recipients to accept: IMF-fixdate, RFC 850 and asctime.
const HTTP_DATE = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * Milliseconds to wait from a Retry-After value: delta-seconds or an HTTP-date. A time in the past
 * (or a negative number) means "now", 0; anything unreadable is `null`, so the caller falls back.
 */
export function parseRetryAfter(value: string | undefined | null, now: Date): number | null {
  const text = value?.trim() ?? '';
  if (DELTA_SECONDS.test(text)) return Math.max(0, Number(text) * 1000);
  if (!HTTP_DATE.some((form) => form.test(text))) return null;
  // asctime has no zone; HTTP dates are always GMT, and Date.parse would read it as local time.
  const at = Date.parse(/\d{4}$/.test(text) ? `${text} GMT` : text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

// Connection-level failures (Node errno and undici codes): the partner may well answer next time.
const TEMPORARY_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

// Failures of our own request or of the response's size: sending it again gives the same result.
const PERMANENT_NETWORK_CODES = new Set([
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'ERR_INVALID_URL',
]);

/**
 * The code for a call that got no usable answer: connection failures and timeouts are TEMPORARY,
 * a response over the size cap or a malformed request PERMANENT. Unknown errors count as
 * TEMPORARY, which the engine retries a bounded number of times anyway.
 */
export function classifyNetworkError(error: unknown): ProviderErrorCode {
  if (error instanceof ProviderError) return error.code;
  for (const code of errorCodes(error)) {
    if (PERMANENT_NETWORK_CODES.has(code)) return 'PERMANENT';
    if (TEMPORARY_NETWORK_CODES.has(code)) return 'TEMPORARY';
  }
  return 'TEMPORARY';
}

/**
 * The errno or undici code of an error and of what it wraps: undici puts the socket's error in
 * `cause`, and Node's dual-stack connect reports both attempts in an AggregateError.
 */
export function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 3) return [];
  const { code, name, cause, errors } = error as {
    code?: unknown;
    name?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  const own = typeof code === 'string' ? [code] : [];
  // AbortSignal.timeout() aborts with a DOMException named TimeoutError, which has no string code.
  if (name === 'TimeoutError') own.push('ETIMEDOUT');
  const nested = [cause, ...(Array.isArray(errors) ? (errors as unknown[]) : [])];
  return [...own, ...nested.flatMap((inner) => errorCodes(inner, depth + 1))];
}

/** undici gives header names in lower case; callers passing their own headers may not. */
function firstHeader(headers: ResponseHeaders, name: string): string | undefined {
  const key = name in headers ? name : Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}
