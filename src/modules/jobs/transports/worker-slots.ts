/** The process-wide limit on running jobs, shared by every queue of a process. */
export class WorkerSlots {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly size: number) {}

  get free(): number {
    return this.size - this.used;
  }

  /** Takes up to `wanted` slots at once and returns how many it got. */
  take(wanted: number): number {
    const taken = Math.max(0, Math.min(wanted, this.free));
    this.used += taken;
    return taken;
  }

  /** Waits for one slot; waiters are served in arrival order. */
  acquire(): Promise<void> {
    if (this.waiters.length === 0 && this.take(1) === 1) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Gives slots back: each goes straight to the longest waiter, if any. */
  release(count = 1): void {
    for (let i = 0; i < count; i++) {
      const next = this.waiters.shift();
      if (next) next();
      else this.used--;
    }
  }
}
