/**
 * A pause that can be cut short. `wake()` ends the pause under way, or, when none is, makes the
 * next one return at once, so a wake-up that comes while the sleeper is busy is not lost.
 */
export class Alarm {
  private ring: (() => void) | undefined;
  private rung = false;

  sleep(ms: number): Promise<void> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.ring = undefined;
        this.rung = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.ring = done;
    });
  }

  wake(): void {
    this.rung = true;
    this.ring?.();
  }
}
