import { retryDelayMs } from './backoff.js';
import type { FailureVerdict } from './job-failure.js';
import type { BackoffPolicy } from './jobs.contract.js';

/** The attempt that just failed, as far as the decision needs it. */
export interface FailedAttempt {
  /** The failed attempt's number, from 1. */
  attempt: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** When the job was due; a dead job keeps it. */
  runAt: Date;
}

/**
 * What happens to a job after a failed attempt: a retry at `runAt`, dead, or (a deferral) queued
 * again at `runAt` with the attempt given back, so it counts against nothing.
 */
export type RetryDecision =
  { status: 'failed'; runAt: Date } | { status: 'dead'; runAt: Date } | { status: 'queued'; runAt: Date };

/**
 * Retry or dead-letter after a failed attempt. A deferral is neither: the job waits exactly its
 * `retryAfterMs` and is queued again, even on its last attempt. A permanent failure, or the last
 * attempt, is dead at once (keeping its runAt). Otherwise the retry waits the failure's
 * `retryAfterMs` (a rate limit) exactly, or the backoff delay with full jitter drawn from `random`.
 */
export function decideRetry(
  job: FailedAttempt,
  failure: Pick<FailureVerdict, 'permanent' | 'retryAfterMs' | 'deferred'>,
  now: Date,
  random: () => number = Math.random,
): RetryDecision {
  if (failure.deferred && failure.retryAfterMs !== null) {
    return { status: 'queued', runAt: new Date(now.getTime() + failure.retryAfterMs) };
  }
  if (failure.permanent || job.attempt >= job.maxAttempts) return { status: 'dead', runAt: job.runAt };
  const waitMs = failure.retryAfterMs ?? retryDelayMs(job.backoff, job.attempt, random);
  return { status: 'failed', runAt: new Date(now.getTime() + waitMs) };
}
