/**
 * How a domain error maps to HTTP, decided once in the global exception filter:
 * invalid -> 400, unauthenticated -> 401, forbidden -> 403, not_found -> 404, conflict -> 409,
 * refused (valid input that a rule refuses) -> 422, rate_limited -> 429 (with Retry-After when the
 * details carry `retryAfterSeconds`).
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'refused'
  | 'rate_limited';

/** Base of every module's error class: a stable code clients can branch on, and a message for people. */
export abstract class DomainError extends Error {
  protected constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Errors of the cross-cutting HTTP layer: authentication, authorisation, paging. */
const COMMON_ERROR_KINDS = {
  UNAUTHENTICATED: 'unauthenticated',
  FORBIDDEN: 'forbidden',
  INVALID_CURSOR: 'invalid',
} as const satisfies Record<string, ErrorKind>;

export class CommonError extends DomainError {
  constructor(code: keyof typeof COMMON_ERROR_KINDS, message: string) {
    super(code, COMMON_ERROR_KINDS[code], message);
  }
}

/**
 * Whether `error` is a domain error with one of `codes`. Modules catch each other's errors this
 * way, by the code in the other module's contract, never by its error class.
 */
export function hasErrorCode(error: unknown, ...codes: string[]): error is DomainError {
  return error instanceof DomainError && codes.includes(error.code);
}
