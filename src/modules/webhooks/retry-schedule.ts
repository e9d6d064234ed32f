/** How far each wait of the schedule may stray either way, so endpoints back after an outage are not hit all at once. */
const JITTER = 0.2;

/**
 * The wait before attempt `next` (from 2) of a delivery: the schedule's entry with ±20 % jitter,
 * or null when the schedule has no more attempts.
 */
export function retryDelayMs(
  schedule: readonly number[],
  next: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[next - 1];
  if (base === undefined) return null;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}
