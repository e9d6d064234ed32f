import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config.js';
import { JobExecutor } from '../job-executor.service.js';
import { JobLedger } from '../job-ledger.service.js';
import type { Dispatch } from '../job-dispatch.js';
import { JobTransport } from './job-transport.js';
import { WorkerSlots } from './worker-slots.js';

/** Idle polling starts this fast and slows down to at most one second. */
const MIN_IDLE_MS = 25;
const MAX_IDLE_MS = 1000;
const CLAIM_ERROR_PAUSE_MS = 1000;
/**
 * A woken loop waits this long before it claims, so jobs enqueued one by one close together (an
 * event per HTTP request) are claimed in one statement, not one each.
 */
const WAKE_COALESCE_MS = 5;

/**
 * The default transport: the jobs table is the queue. One loop per queue claims batches of due
 * jobs; an enqueue in this process wakes it at once, and polling (at most every second when idle)
 * finds jobs enqueued by other processes and retries that come due.
 */
@Injectable()
export class EmbeddedTransport extends JobTransport {
  private readonly logger = new Logger('Jobs');
  private readonly loops = new Map<string, QueueLoop>();
  private readonly slots: WorkerSlots;

  constructor(
    private readonly ledger: JobLedger,
    private readonly executor: JobExecutor,
    config: AppConfig,
  ) {
    super();
    this.slots = new WorkerSlots(config.jobs.concurrency);
  }

  dispatch(jobs: Dispatch[]): void {
    const now = Date.now();
    for (const job of jobs) this.loops.get(job.queue)?.wakeAt(job.runAt.getTime() - now, true);
  }

  start(queues: Map<string, number>): Promise<void> {
    for (const [queue, concurrency] of queues) {
      const loop = new QueueLoop(queue, concurrency, this.slots, this.ledger, this.executor, this.logger);
      this.loops.set(queue, loop);
      loop.start();
    }
    return Promise.resolve();
  }

  async stopClaiming(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.stop()));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class QueueLoop {
  private active = 0;
  private stopping = false;
  private woken = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private coalescing: NodeJS.Timeout | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly queue: string,
    private readonly concurrency: number,
    private readonly slots: WorkerSlots,
    private readonly ledger: JobLedger,
    private readonly executor: JobExecutor,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeAt(0);
    await this.done;
  }

  /**
   * Makes the loop look for due jobs in `ms`: at once when `ms <= 0`, or, with `coalesce` while
   * the loop sleeps, a few ms later so jobs enqueued meanwhile join the same claim. A time beyond
   * the idle poll sets no timer, since the poll comes sooner.
   */
  wakeAt(ms: number, coalesce = false): void {
    if (ms <= 0 && coalesce && this.wake) {
      this.coalescing ??= setTimeout(() => {
        this.coalescing = undefined;
        this.wakeAt(0);
      }, WAKE_COALESCE_MS);
    } else if (ms <= 0) {
      this.woken = true;
      this.wake?.();
    } else if (ms < MAX_IDLE_MS) {
      setTimeout(() => this.wakeAt(0), ms).unref();
    }
  }

  private async run(): Promise<void> {
    let idleMs = MIN_IDLE_MS;
    while (!this.stopping) {
      const wanted = this.concurrency - this.active;
      const granted = wanted > 0 ? this.slots.take(wanted) : 0;
      if (granted === 0) {
        await this.sleep(MAX_IDLE_MS);
        continue;
      }
      let claimed = 0;
      try {
        const jobs = await this.ledger.claimBatch(this.queue, granted);
        claimed = jobs.length;
        for (const job of jobs) this.launch(job);
      } catch (error) {
        this.logger.error(`claiming jobs of queue ${this.queue} failed: ${String(error)}`);
        await this.sleep(CLAIM_ERROR_PAUSE_MS);
      } finally {
        this.slots.release(granted - claimed);
      }
      if (claimed === granted) {
        idleMs = MIN_IDLE_MS;
        continue;
      }
      await this.sleep(claimed > 0 ? MAX_IDLE_MS : idleMs);
      idleMs = claimed > 0 ? MIN_IDLE_MS : Math.min(idleMs * 2, MAX_IDLE_MS);
    }
  }

  private launch(job: Parameters<JobExecutor['run']>[0]): void {
    this.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.slots.release();
      this.wakeAt(0);
    };
    this.executor
      .run(job, release)
      .then((retry) => {
        if (retry) this.wakeAt(retry.runAt.getTime() - Date.now());
      })
      .catch((error: unknown) => this.logger.error(`job ${job.id} failed in the executor: ${String(error)}`))
      .finally(release);
  }

  /** Waits `ms`, or less if woken; a wake that came while busy is not lost. */
  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(this.timer);
        clearTimeout(this.coalescing);
        this.coalescing = undefined;
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
    });
  }
}
