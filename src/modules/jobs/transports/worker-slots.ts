/** The process-wide limit on running jobs, shared by every queue of a process. */
export class WorkerSlots {
  private used = 0;
  private waiters: (() => void)[] = [];

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

  /** Waits for one slot. */
  async acquire(): Promise<void> {
    while (this.take(1) === 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(count = 1): void {
    this.used -= count;
    this.waiters.splice(0).forEach((wake) => wake());
  }
}
