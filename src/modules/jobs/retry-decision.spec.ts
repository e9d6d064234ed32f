import { describeFailure, JobFailure, MAX_RETRY_AFTER_MS } from './job-failure.js';
import { decideRetry } from './retry-decision.js';
import type { FailedAttempt } from './retry-decision.js';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const DUE = new Date('2026-12-01T09:00:00.000Z');
const BACKOFF = { baseMs: 1_000, factor: 3, maxMs: 20_000 };

function attempt(n: number, maxAttempts = 5): FailedAttempt {
  return { attempt: n, maxAttempts, backoff: BACKOFF, runAt: DUE };
}

const temporary = describeFailure(Object.assign(new Error('try later'), { code: 'TEMPORARY' }));

describe('decideRetry', () => {
  it.each([
    ['PERMANENT', JobFailure.permanent('bad order')],
    ['AUTH', Object.assign(new Error('who are you?'), { code: 'AUTH' })],
    ['NOT_FOUND', Object.assign(new Error('no such order'), { code: 'NOT_FOUND' })],
    ['UNKNOWN_JOB_TYPE', new JobFailure('UNKNOWN_JOB_TYPE', 'no handler')],
  ])('makes the job dead at once, keeping its runAt, when the code is %s', (_code, error) => {
    expect(decideRetry(attempt(1), describeFailure(error), NOW)).toEqual({ status: 'dead', runAt: DUE });
  });

  it('makes the job dead when the failed attempt was its last', () => {
    expect(decideRetry(attempt(5, 5), temporary, NOW)).toEqual({ status: 'dead', runAt: DUE });
    expect(decideRetry(attempt(6, 5), temporary, NOW)).toEqual({ status: 'dead', runAt: DUE });
  });

  it('schedules a retry when the failure is temporary and attempts are left', () => {
    const decision = decideRetry(attempt(4, 5), temporary, NOW, () => 0.5);
    expect(decision.status).toBe('failed');
    expect(decision.runAt.getTime()).toBeGreaterThanOrEqual(NOW.getTime());
  });

  it('waits at most 30 days, whatever wait the failure asks for', () => {
    // 1e17 ms is past what a Date holds: unbounded, the retry's runAt would be an Invalid Date.
    for (const failure of [
      JobFailure.rateLimited('come back in ages', 1e17),
      JobFailure.deferred('later', 1e17),
    ]) {
      const { runAt } = decideRetry(attempt(2), describeFailure(failure), NOW);
      expect(runAt).toEqual(new Date(NOW.getTime() + MAX_RETRY_AFTER_MS));
    }
    expect(MAX_RETRY_AFTER_MS).toBe(30 * 24 * 3_600_000);
  });

  it('waits exactly retryAfterMs when the failure is a rate limit with a retry-after', () => {
    const limited = describeFailure(JobFailure.rateLimited('slow down', 30_000));
    expect(decideRetry(attempt(2), limited, NOW, () => 0.999)).toEqual({
      status: 'failed',
      runAt: new Date(NOW.getTime() + 30_000),
    });
  });

  it('queues a deferral again after exactly retryAfterMs, even on the last attempt', () => {
    const deferred = describeFailure(JobFailure.deferred('rate budget spent', 700));
    for (const failed of [attempt(1), attempt(5, 5), attempt(6, 5)]) {
      expect(decideRetry(failed, deferred, NOW, () => 0.999)).toEqual({
        status: 'queued',
        runAt: new Date(NOW.getTime() + 700),
      });
    }
  });

  it('defers any error with the code DEFERRED and a retryAfterMs, a provider error say', () => {
    const error = Object.assign(new Error('budget spent'), { code: 'DEFERRED', retryAfterMs: 0 });
    expect(decideRetry(attempt(3, 3), describeFailure(error), NOW)).toEqual({ status: 'queued', runAt: NOW });
  });

  it('counts a DEFERRED without a retryAfterMs as an ordinary failure, so a job cannot spin on it', () => {
    const failure = describeFailure(Object.assign(new Error('later'), { code: 'DEFERRED' }));
    expect(failure.deferred).toBe(false);
    expect(decideRetry(attempt(5, 5), failure, NOW)).toEqual({ status: 'dead', runAt: DUE });
    expect(decideRetry(attempt(2, 5), failure, NOW, () => 0).status).toBe('failed');
  });

  it('waits within [0, min(maxMs, baseMs * factor^(attempt-1))] when backing off', () => {
    for (const n of [1, 2, 3, 4]) {
      const cap = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * BACKOFF.factor ** (n - 1));
      const waits = [0, 0.5, 0.999999].map(
        (draw) => decideRetry(attempt(n), temporary, NOW, () => draw).runAt.getTime() - NOW.getTime(),
      );
      expect(waits[0]).toBe(0);
      expect(waits[1]).toBe(Math.floor(cap / 2));
      expect(waits[2]).toBeLessThanOrEqual(cap);
      expect(waits[2]).toBeGreaterThanOrEqual(cap - 1);
    }
  });

  it('caps the wait at maxMs when the exponential delay would exceed it', () => {
    const wait = decideRetry(attempt(4), temporary, NOW, () => 0.999999).runAt.getTime() - NOW.getTime();
    expect(wait).toBeLessThanOrEqual(BACKOFF.maxMs);
    expect(wait).toBeGreaterThanOrEqual(BACKOFF.maxMs - 1);
  });
});
