/** The code of a deferral: with a `retryAfterMs`, the attempt is not counted against the job. */
export const DEFERRED_CODE = 'DEFERRED';

/**
 * What a handler throws to tell the engine how to go on. Any error with a string `code` works the
 * same way (a provider's errors need not extend this class): `PERMANENT`, `AUTH` and `NOT_FOUND` go
 * straight to dead, `RATE_LIMITED` with `retryAfterMs` waits that long, `DEFERRED` with
 * `retryAfterMs` puts the job back for that long without spending an attempt (it never ran, say
 * because a rate budget was spent), anything else is retried with backoff.
 */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'JobFailure';
  }

  static permanent(message: string): JobFailure {
    return new JobFailure('PERMANENT', message);
  }

  static rateLimited(message: string, retryAfterMs: number): JobFailure {
    return new JobFailure('RATE_LIMITED', message, retryAfterMs);
  }

  /** The job could not start its work yet: it runs again after `retryAfterMs`, and no attempt is spent. */
  static deferred(message: string, retryAfterMs: number): JobFailure {
    return new JobFailure(DEFERRED_CODE, message, retryAfterMs);
  }
}

const PERMANENT_CODES = new Set(['PERMANENT', 'AUTH', 'NOT_FOUND', 'UNKNOWN_JOB_TYPE']);
const MAX_MESSAGE_LENGTH = 2000;
/**
 * The longest a job waits on a `retryAfterMs`: a partner's `Retry-After` of years (or beyond what a
 * Date holds, which would leave the attempt unrecordable and the job running) waits this instead.
 */
export const MAX_RETRY_AFTER_MS = 30 * 24 * 3_600_000;
const MAX_STACK_LENGTH = 8000;

export interface FailureVerdict {
  code: string;
  message: string;
  stack: string | null;
  /** No retry: the job is dead at once. */
  permanent: boolean;
  /** Retry after exactly this long instead of the backoff delay. */
  retryAfterMs: number | null;
  /**
   * Not a failure: the job is put back for `retryAfterMs` without spending an attempt. Only a
   * `DEFERRED` code with a `retryAfterMs` is one; without a wait it counts as an ordinary failure,
   * so a job cannot spin on it.
   */
  deferred: boolean;
}

export function describeFailure(error: unknown): FailureVerdict {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    retryAfterMs?: unknown;
    permanent?: unknown;
  };
  const code =
    typeof fields.code === 'string' && fields.code.length > 0 ? fields.code.slice(0, 100) : 'ERROR';
  const retryAfterMs =
    typeof fields.retryAfterMs === 'number' &&
    Number.isFinite(fields.retryAfterMs) &&
    fields.retryAfterMs >= 0
      ? Math.min(fields.retryAfterMs, MAX_RETRY_AFTER_MS)
      : null;
  const message = error instanceof Error ? error.message : String(error);
  return {
    code,
    message: message.slice(0, MAX_MESSAGE_LENGTH),
    stack: error instanceof Error && error.stack ? error.stack.slice(0, MAX_STACK_LENGTH) : null,
    permanent: PERMANENT_CODES.has(code) || fields.permanent === true,
    retryAfterMs,
    deferred: code === DEFERRED_CODE && retryAfterMs !== null,
  };
}
