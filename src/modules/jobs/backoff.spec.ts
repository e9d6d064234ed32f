import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.js';
import { describeFailure, JobFailure } from './job-failure.js';

describe('retryDelayMs', () => {
  it('grows exponentially up to the cap when the random draw is at its top', () => {
    const top = () => 0.999999;
    const policy = { baseMs: 100, factor: 3, maxMs: 2000 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, top))).toEqual([99, 299, 899, 1999, 1999]);
  });

  it('draws uniformly below the cap (full jitter)', () => {
    expect(retryDelayMs(DEFAULT_BACKOFF, 3, () => 0)).toBe(0);
    expect(retryDelayMs(DEFAULT_BACKOFF, 3, () => 0.5)).toBe(2000);
  });
});

describe('describeFailure', () => {
  it('treats PERMANENT, AUTH and NOT_FOUND codes as permanent, from any error with a code', () => {
    expect(describeFailure(JobFailure.permanent('bad order')).permanent).toBe(true);
    expect(describeFailure(Object.assign(new Error('who?'), { code: 'AUTH' })).permanent).toBe(true);
    expect(describeFailure(Object.assign(new Error('later'), { code: 'TEMPORARY' })).permanent).toBe(false);
  });

  it('keeps a rate limit retry-after and gives plain errors the code ERROR', () => {
    const limited = describeFailure(JobFailure.rateLimited('slow down', 30_000));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 30_000, permanent: false });
    expect(describeFailure(new Error('boom'))).toMatchObject({
      code: 'ERROR',
      message: 'boom',
      retryAfterMs: null,
    });
    expect(describeFailure('a string')).toMatchObject({ code: 'ERROR', message: 'a string', stack: null });
  });
});
