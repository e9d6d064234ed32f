import { retryDelayMs } from './retry-schedule.js';

describe('retryDelayMs', () => {
  const schedule = [0, 5_000, 300_000];

  it('waits the schedule entry of the next attempt, within ±20 %', () => {
    expect(retryDelayMs(schedule, 2, () => 0)).toBe(4_000);
    expect(retryDelayMs(schedule, 2, () => 0.5)).toBe(5_000);
    expect(retryDelayMs(schedule, 3, () => 1)).toBe(360_000);
  });

  it('has no wait past the last attempt', () => {
    expect(retryDelayMs(schedule, 4)).toBeNull();
  });
});
