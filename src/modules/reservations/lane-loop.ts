import type { Logger } from '@nestjs/common';
import { Alarm } from '../../common/alarm.js';

/** The longest an idle lane waits before looking for work again. */
export const IDLE_BACKOFF_MAX_MS = 1000;

/** What a lane loop asks of the reserver. */
export interface LaneWork {
  /** A cheap read: are there requests to look at? */
  hasWork(lane: string): Promise<boolean>;
  reserveBatch(lane: string): Promise<{ examined: number }>;
}

/** Leadership of a lane across processes (an advisory lock on PostgreSQL; always held on SQLite). */
export interface LeaderLock {
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** One lane's loop: serve batches while there is work, back off (to 1 s) when idle, wake on demand. */
export class LaneLoop {
  leading = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly alarm = new Alarm();

  constructor(
    readonly lane: string,
    private readonly reserver: LaneWork,
    private readonly lock: LeaderLock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = this.run();
  }

  wake(): void {
    this.alarm.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    this.leading = false;
    await this.lock.release().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let idleMs = 0;
    while (!this.stopped) {
      try {
        this.leading ||= await this.lock.acquire();
        if (!this.leading) {
          await this.alarm.sleep(IDLE_BACKOFF_MAX_MS);
          continue;
        }
        const outcome = (await this.reserver.hasWork(this.lane))
          ? await this.reserver.reserveBatch(this.lane)
          : { examined: 0 };
        if (outcome.examined > 0) {
          idleMs = 0;
          continue;
        }
        idleMs = Math.min(Math.max(idleMs * 2, 10), IDLE_BACKOFF_MAX_MS);
        await this.alarm.sleep(idleMs);
      } catch (error) {
        if (this.stopped) break;
        this.logger.error(`lane ${this.lane}: ${String(error)}`);
        if (this.leading) {
          // A lost connection may have taken the advisory lock with it: lead again only by taking it anew.
          this.leading = false;
          await this.lock.release().catch(() => undefined);
        }
        await this.alarm.sleep(IDLE_BACKOFF_MAX_MS);
      }
    }
  }
}
