import { jest } from '@jest/globals';
import { loadConfig } from '../../config/load-config.js';
import { ProviderError } from './http/provider-error.js';
import { RateBudgets, windowSeconds } from './rate-budgets.service.js';
import type { BudgetOwner } from './rate-budgets.service.js';

const FIVE_PER_SECOND = { requests: 5, perMs: 1000 };

/**
 * RateBudgets with its memory store (no REDIS_URL), as one process on SQLite runs it. The clock
 * stands still unless a test moves it, so a loaded machine cannot carry a test across a window.
 */
describe('RateBudgets', () => {
  let budgets: RateBudgets;
  let serial = 0;

  beforeEach(() => {
    jest.useFakeTimers();
    budgets = new RateBudgets(loadConfig({}));
  });
  afterEach(async () => {
    await budgets.onApplicationShutdown();
    jest.useRealTimers();
  });

  const connection = (config: Record<string, unknown> = {}): BudgetOwner => ({
    id: `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`,
    name: `shop${serial}`,
    config,
  });

  /** Takes from the budget; the deferral it threw, or null when the call may go. */
  async function take(owner: BudgetOwner, fallback = FIVE_PER_SECOND): Promise<ProviderError | null> {
    try {
      await budgets.take(owner, fallback);
      return null;
    } catch (error) {
      if (error instanceof ProviderError) return error;
      throw error;
    }
  }

  it('lets 5 calls a second go and defers the 6th in the same second for at most a second', async () => {
    const shop = connection();
    const takes = [];
    for (let i = 0; i < 6; i++) takes.push(await take(shop));

    expect(takes.slice(0, 5)).toEqual([null, null, null, null, null]);
    const deferral = takes[5]!;
    expect(deferral.code).toBe('DEFERRED');
    expect(deferral.retryAfterMs).toBeGreaterThan(500);
    expect(deferral.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(deferral.message).toMatch(/^connection shop\d+ has spent its rate budget of 5 per 1000 ms/);
  });

  it('gives the budget back when the window has passed', async () => {
    const shop = connection();
    const limit = { requests: 1, perMs: 1000 };
    expect(await take(shop, limit)).toBeNull();
    const deferral = await take(shop, limit);

    // More than 100 ms early it is deferred (closer, it would wait for the slot).
    jest.advanceTimersByTime(deferral!.retryAfterMs! - 101);
    expect(await take(shop, limit)).toBeInstanceOf(ProviderError);

    jest.advanceTimersByTime(101);
    expect(await take(shop, limit)).toBeNull();
  });

  it('keeps one budget per connection', async () => {
    const [first, second] = [connection(), connection()];
    for (let i = 0; i < 5; i++) expect(await take(first)).toBeNull();

    expect(await take(first)).toBeInstanceOf(ProviderError);
    expect(await take(second)).toBeNull();
  });

  it('uses a connection’s own rateLimit over its provider’s default', async () => {
    const shop = connection({ rateLimit: { requests: 2, perMs: 1000 } });

    const takes = [await take(shop), await take(shop), await take(shop)];

    expect(takes.map((deferral) => deferral?.code ?? null)).toEqual([null, null, 'DEFERRED']);
  });

  it('never defers a connection without a limit', async () => {
    const shop = connection();
    for (let i = 0; i < 50; i++) await budgets.take(shop, undefined);
  });

  it('sends refused calls to later windows in turn, so they do not all come back at once', async () => {
    const shop = connection();
    const waits: number[] = [];
    for (let i = 0; i < 16; i++) {
      const deferral = await take(shop);
      if (deferral) waits.push(deferral.retryAfterMs!);
    }

    expect(waits).toHaveLength(11);
    for (const wait of waits.slice(0, 5)) expect(wait).toBeLessThanOrEqual(1000);
    for (const wait of waits.slice(5, 10)) {
      expect(wait).toBeGreaterThan(1000);
      expect(wait).toBeLessThanOrEqual(2000);
    }
    expect(waits[10]).toBeGreaterThan(2000);
    expect(waits[10]).toBeLessThanOrEqual(3000);
  });

  it('waits for a slot that frees within 100 ms instead of deferring, so a job back on its turn is not refused again', async () => {
    const shop = connection();
    const one = { requests: 1, perMs: 1000 };
    expect(await take(shop, one)).toBeNull();
    await jest.advanceTimersByTimeAsync(970);

    const late = take(shop, one);
    await jest.advanceTimersByTimeAsync(30);
    expect(await late).toBeNull();
    // The slot it took is held a full window again: a call now is deferred.
    expect((await take(shop, one))?.retryAfterMs).toBeGreaterThan(900);
  });

  it('keeps a large budget as one counter a window: 1000 calls go, the next is deferred', async () => {
    const busy = connection();
    const large = { requests: 1000, perMs: 1000 };
    const takes = [];
    for (let i = 0; i < 1001; i++) takes.push(await take(busy, large));
    expect(takes.slice(0, 1000).every((refusal) => refusal === null)).toBe(true);
    expect(takes[1000]?.code).toBe('DEFERRED');
    expect(takes[1000]?.retryAfterMs).toBeLessThanOrEqual(1000);
  });

  it('rounds a window up to whole seconds, never shorter than the limit says', () => {
    expect([1, 500, 1000, 1001, 1500, 60_000].map((perMs) => windowSeconds({ requests: 1, perMs }))).toEqual([
      1, 1, 1, 2, 2, 60,
    ]);
  });
});
