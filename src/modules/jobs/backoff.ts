import type { BackoffPolicy } from './jobs.contract.js';

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, factor: 2, maxMs: 3_600_000 };

/**
 * The wait before retrying after failed attempt number `attempt` (1-based): exponential growth
 * capped at `maxMs`, with full jitter (a uniform random delay below the cap) so that jobs failing
 * together do not all retry together.
 */
export function retryDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, Math.max(0, attempt - 1)));
  return Math.floor(random() * cap);
}
