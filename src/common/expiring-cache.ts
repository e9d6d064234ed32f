/**
 * A value loaded on demand and kept for `maxAgeMs`; after `invalidate()` the next read loads it
 * again. A failed load is not kept. `latest` is the last value loaded, for callers that cannot wait.
 */
export class ExpiringCache<T> {
  private loading: Promise<T> | null = null;
  private loadedAt = 0;
  latest: T | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<T> {
    const now = Date.now();
    if (!this.loading || this.isStale(now)) {
      this.loadedAt = now;
      const loading = this.load();
      this.loading = loading;
      loading.then(
        (value) => {
          if (this.loading === loading) this.latest = value;
        },
        () => {
          if (this.loading === loading) this.loading = null;
        },
      );
    }
    return this.loading;
  }

  isStale(now = Date.now()): boolean {
    return now - this.loadedAt > this.maxAgeMs;
  }

  invalidate(): void {
    this.loading = null;
  }
}
