import { ExpiringCache } from './expiring-cache.js';

describe('ExpiringCache', () => {
  it('loads once while fresh, again after invalidate, and keeps the latest value', async () => {
    let loads = 0;
    const cache = new ExpiringCache(() => Promise.resolve(++loads), 60_000);
    expect(await cache.get()).toBe(1);
    expect(await cache.get()).toBe(1);
    expect(cache.latest).toBe(1);
    cache.invalidate();
    expect(await cache.get()).toBe(2);
    expect(cache.latest).toBe(2);
  });

  it('does not keep a failed load', async () => {
    let fail = true;
    const cache = new ExpiringCache(
      () => (fail ? Promise.reject(new Error('down')) : Promise.resolve('up')),
      60_000,
    );
    await expect(cache.get()).rejects.toThrow('down');
    fail = false;
    expect(await cache.get()).toBe('up');
  });

  it('loads again once older than its age', async () => {
    let loads = 0;
    const cache = new ExpiringCache(() => Promise.resolve(++loads), 0);
    await cache.get();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(cache.isStale()).toBe(true);
    expect(await cache.get()).toBe(2);
  });
});
