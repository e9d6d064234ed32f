import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config.js';
import { JobExecutor } from '../job-executor.service.js';
import { JobLedger } from '../job-ledger.service.js';
import type { Dispatch } from '../job-dispatch.js';
import type { Job } from '../job.entity.js';
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
 * A queue claims up to this many times its concurrency ahead of its free slots, and claims only
 * once half of that fits (or nothing is left waiting for a slot), so claims go in groups, one
 * statement each, and a freed slot finds its next job already claimed. Claiming only for free
 * slots made one claim, one transaction, per finished job; groups of half the room made a third
 * as many claims as groups of one concurrency's worth. The cost, as with Bull: a claimed job
 * waits here, shown as running, for up to five jobs' time before it starts.
 */
const CLAIM_AHEAD = 5;

/**
 * The default transport: the jobs table is the queue. One loop per queue claims batches of due
 * jobs, ahead of its free slots (CLAIM_AHEAD); an enqueue in this process wakes it at once, and
 * polling (at most every second when idle) finds jobs enqueued by other processes and retries that
 * come due. At shutdown, claimed jobs that have not started are handed back at once, unclaimed.
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
      const loop = new QueueLoop(
        queue,
        // A queue cannot run more at once than the process.
        Math.min(concurrency, this.slots.size),
        { running: this.slots, freed: () => this.slotFreed() },
        this.ledger,
        this.executor,
        this.logger,
      );
      this.loops.set(queue, loop);
      loop.start();
    }
    return Promise.resolve();
  }

  /** Stops the loops and hands back the jobs they claimed that have not started. */
  async stopClaiming(): Promise<void> {
    const waiting = (await Promise.all([...this.loops.values()].map((loop) => loop.stop()))).flat();
    if (waiting.length === 0) return;
    try {
      await this.ledger.unclaim(waiting);
    } catch (error) {
      // They stay this worker's: released with the running ones after the grace period.
      this.logger.warn(`could not hand back ${waiting.length} claimed job(s): ${String(error)}`);
      return;
    }
    for (const job of waiting) this.executor.unreserve(job.id);
  }

  /** A slot is free: queues with claimed jobs waiting for one look at once. */
  private slotFreed(): void {
    for (const loop of this.loops.values()) loop.slotFreed();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The process's limits a queue's loop shares with the others. */
interface SharedSlots {
  /** Running jobs. */
  running: WorkerSlots;
  /** Called when a running slot was given back. */
  freed: () => void;
}

class QueueLoop {
  private active = 0;
  /** Claimed ahead, in claim order, waiting for a slot. */
  private readonly ready: Job[] = [];
  private stopping = false;
  private woken = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private coalescing: NodeJS.Timeout | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly queue: string,
    private readonly concurrency: number,
    private readonly slots: SharedSlots,
    private readonly ledger: JobLedger,
    private readonly executor: JobExecutor,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.done = this.run();
  }

  /** Stops claiming and starting jobs; returns the claimed jobs that have not started. */
  async stop(): Promise<Job[]> {
    this.stopping = true;
    this.wakeAt(0);
    await this.done;
    return this.ready.splice(0);
  }

  slotFreed(): void {
    if (this.ready.length > 0) this.wakeAt(0);
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
      this.startReady();
      const room = (1 + CLAIM_AHEAD) * this.concurrency - this.active - this.ready.length;
      // A group worth a statement; or anything, when no claimed job is left to start here.
      const worth = this.ready.length === 0 ? 1 : Math.ceil((CLAIM_AHEAD * this.concurrency) / 2);
      if (room < worth) {
        await this.sleep(MAX_IDLE_MS);
        continue;
      }
      let claimed = 0;
      try {
        const jobs = await this.ledger.claimBatch(this.queue, room);
        claimed = jobs.length;
        for (const job of jobs) {
          this.executor.reserve(job);
          this.ready.push(job);
        }
      } catch (error) {
        this.logger.error(`claiming jobs of queue ${this.queue} failed: ${String(error)}`);
        await this.sleep(CLAIM_ERROR_PAUSE_MS);
      }
      if (claimed === room) {
        idleMs = MIN_IDLE_MS;
        continue;
      }
      this.startReady();
      await this.sleep(claimed > 0 ? MAX_IDLE_MS : idleMs);
      idleMs = claimed > 0 ? MIN_IDLE_MS : Math.min(idleMs * 2, MAX_IDLE_MS);
    }
  }

  /** Starts claimed jobs, in claim order, while this queue and the process have free slots. */
  private startReady(): void {
    while (this.ready.length > 0 && this.active < this.concurrency && this.slots.running.take(1) === 1) {
      this.launch(this.ready.shift()!);
    }
  }

  private launch(job: Job): void {
    this.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.slots.running.release();
      this.wakeAt(0);
      this.slots.freed();
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
