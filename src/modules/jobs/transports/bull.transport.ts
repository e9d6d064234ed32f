import { Inject, Injectable, Logger } from '@nestjs/common';
import { getSharedConfigToken } from '@nestjs/bull';
import Bull from 'bull';
import { Clock } from '../../../common/clock.js';
import { AppConfig } from '../../../config/app-config.js';
import { inChunks } from '../../../database/raw-sql.js';
import { JobExecutor } from '../job-executor.service.js';
import type { Dispatch } from '../job-dispatch.js';
import { JobLedger } from '../job-ledger.service.js';
import { JobStore } from '../job.store.js';
import { JobTransport } from './job-transport.js';
import { WorkerSlots } from './worker-slots.js';

/** One Bull job: the ids of ledger jobs that share a queue, due time and priority. */
interface Delivery {
  jobIds: string[];
  /** Some of them have a concurrency key. */
  keyed: boolean;
}

/** Ledger jobs per Bull job: Redis's per-job work is shared by this many. */
const MAX_JOBS_PER_DELIVERY = 50;
/**
 * Claims run this many times the process's concurrency ahead of free slots. Claims go in groups,
 * one statement each, and a group's fixed cost dominates for short jobs: with 20 slots, claims
 * held to the slots came in groups of 10 (about 2,500 jobs/s on the bench), 2x ahead gave about
 * 3,350 and 4x about 4,800. The cost: a claimed job waits here, shown as running, for up to four
 * jobs' time before it starts.
 */
const CLAIM_AHEAD = 4;
/** The most waiting jobs one reconciler pass compares with Redis. */
const RECONCILE_BATCH = 1000;
const BULL_MAX_PRIORITY = 2_097_152;
const HELD_STATES: Bull.JobStatus[] = ['waiting', 'delayed', 'active', 'paused'];

/**
 * Bull on Redis carries job ids; the ledger still decides. Jobs committed together (same queue,
 * due time and priority) travel in one Bull job of up to 50 ids, with Bull's delay and priority.
 * Each id is claimed in the ledger before it runs, so a delivery that arrives twice, or late, runs
 * nothing twice. A reconciler re-adds jobs the ledger says are due but that no Bull job in Redis
 * holds (a crash between commit and add, a flushed Redis).
 */
@Injectable()
export class BullTransport extends JobTransport {
  private readonly logger = new Logger('Jobs');
  private readonly queues = new Map<string, Bull.Queue<Delivery>>();
  private readonly slots: WorkerSlots;
  private readonly queueSlots = new Map<string, WorkerSlots>();
  private readonly claimsAhead: WorkerSlots;
  private reconciler: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    @Inject(getSharedConfigToken()) private readonly bullOptions: Bull.QueueOptions,
    private readonly ledger: JobLedger,
    private readonly executor: JobExecutor,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly store: JobStore,
  ) {
    super();
    this.slots = new WorkerSlots(config.jobs.concurrency);
    this.claimsAhead = new WorkerSlots(CLAIM_AHEAD * config.jobs.concurrency);
  }

  dispatch(jobs: Dispatch[]): void {
    this.add(jobs).catch((error: unknown) =>
      this.logger.warn(
        `could not hand ${jobs.length} job(s) to Redis (the reconciler will): ${String(error)}`,
      ),
    );
  }

  start(queues: Map<string, number>): Promise<void> {
    for (const [name, concurrency] of queues) {
      this.queueSlots.set(name, new WorkerSlots(concurrency));
      // Take at once only enough Bull jobs to fill the slots and the claims ahead twice over (so
      // the last ids of one delivery do not leave slots idle); the rest stay in Redis for other workers.
      const deliveries = Math.min(
        concurrency,
        Math.ceil((2 * (CLAIM_AHEAD + 1) * concurrency) / MAX_JOBS_PER_DELIVERY),
      );
      // The promise settles only when the queue closes; it rejects when Redis cannot be reached,
      // which the queue's error listener already reports.
      this.queue(name)
        .process(deliveries, (delivery) => this.deliver(name, delivery.data))
        .catch((error: unknown) => this.logger.warn(`Bull queue ${name} stopped: ${String(error)}`));
    }
    this.reconciler = setInterval(() => {
      this.reconciling = this.reconcile().then(
        () => undefined,
        (error: unknown) => this.logger.warn(`reconciling the ledger with Redis failed: ${String(error)}`),
      );
    }, this.config.jobs.reconcileMs);
    return Promise.resolve();
  }

  async stopClaiming(): Promise<void> {
    this.stopping = true;
    clearInterval(this.reconciler);
    await this.reconciling;
    await Promise.all([...this.queues.values()].map((queue) => queue.pause(true, true)));
  }

  async close(): Promise<void> {
    clearInterval(this.reconciler);
    // With Redis away, Bull's close rejects when its clients' QUIT fails to connect (lib/queue.js
    // does not catch its disconnect): there is nothing left to close then, and shutdown goes on.
    await Promise.all(
      [...this.queues.values()].map((queue) =>
        queue
          .close()
          .catch((error: unknown) => this.logger.warn(`closing Bull queue ${queue.name}: ${String(error)}`)),
      ),
    );
  }

  /** Re-adds due waiting jobs that no Bull job holds; returns how many. */
  async reconcile(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.jobs.reconcileMs);
    const waiting = await this.store.waitingSince(cutoff, RECONCILE_BATCH);
    if (waiting.length === 0) return 0;
    const held = new Set<string>();
    for (const name of new Set(waiting.map((job) => job.queue))) {
      for (const delivery of await this.queue(name).getJobs(HELD_STATES)) {
        for (const id of delivery?.data.jobIds ?? []) held.add(id);
      }
    }
    const candidates = waiting.filter((job) => !held.has(job.id));
    if (candidates.length === 0) return 0;
    // Some may have run and left Redis since the first query: only jobs still waiting are lost.
    const still = new Set(
      (
        await this.store.waitingSince(
          cutoff,
          RECONCILE_BATCH,
          candidates.map((job) => job.id),
        )
      ).map((job) => `${job.id}:${job.attempt}`),
    );
    const lost = candidates.filter((job) => still.has(`${job.id}:${job.attempt}`));
    if (lost.length > 0) {
      await this.add(lost);
      this.logger.warn(`re-added ${lost.length} job(s) that Redis did not hold`);
    }
    return lost.length;
  }

  /** Adds Bull jobs for these ledger jobs, grouped by queue, due time and priority. */
  private async add(jobs: Dispatch[]): Promise<void> {
    const groups = new Map<string, Dispatch[]>();
    for (const job of jobs) {
      const key = `${job.queue}\n${job.runAt.getTime()}\n${job.priority}`;
      groups.set(key, [...(groups.get(key) ?? []), job]);
    }
    const byQueue = new Map<string, { data: Delivery; opts: Bull.JobOptions }[]>();
    const now = Date.now();
    for (const group of groups.values()) {
      for (const chunk of inChunks(group, MAX_JOBS_PER_DELIVERY)) {
        const bulk = byQueue.get(chunk[0].queue) ?? [];
        bulk.push({
          data: { jobIds: chunk.map((job) => job.id), keyed: chunk.some((job) => job.keyed) },
          opts: deliveryOptions(chunk[0], now),
        });
        byQueue.set(chunk[0].queue, bulk);
      }
    }
    await Promise.all([...byQueue].map(([queue, bulk]) => this.queue(queue).addBulk(bulk)));
  }

  private async deliver(queue: string, delivery: Delivery): Promise<void> {
    const notYet: Dispatch[] = [];
    const unclaimed: string[] = [];
    const keyed = delivery.keyed !== false;
    await Promise.all(delivery.jobIds.map((id) => this.runOne(queue, id, keyed, notYet, unclaimed)));
    if (notYet.length > 0) await this.add(notYet);
    // Shutting down: the ids this worker will not claim go back to Redis for the other workers.
    if (unclaimed.length > 0) {
      await this.queue(queue).add(
        { jobIds: unclaimed, keyed },
        { removeOnComplete: true, removeOnFail: true },
      );
    }
  }

  /**
   * Claims one job, then runs it when a slot is free. Claims run ahead of the slots (CLAIM_AHEAD),
   * so they go in larger groups and a freed slot finds its next job already claimed.
   */
  private async runOne(
    queue: string,
    id: string,
    keyed: boolean,
    notYet: Dispatch[],
    unclaimed: string[],
  ): Promise<void> {
    await this.claimsAhead.acquire();
    if (this.stopping) {
      this.claimsAhead.release();
      unclaimed.push(id);
      return;
    }
    let claimed: Awaited<ReturnType<JobLedger['claimOne']>>;
    try {
      claimed = await this.ledger.claimOne(id, keyed);
      if ('kind' in claimed) {
        if (claimed.kind === 'not-yet') notYet.push(claimed.retry);
        this.claimsAhead.release();
        return;
      }
      this.executor.reserve(claimed);
    } catch (error) {
      this.claimsAhead.release();
      throw error;
    }
    const queueSlots = this.queueSlots.get(queue)!;
    await queueSlots.acquire();
    await this.slots.acquire();
    this.claimsAhead.release();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.slots.release();
      queueSlots.release();
    };
    try {
      const retry = await this.executor.run(claimed, release);
      if (retry) await this.add([retry]);
    } finally {
      release();
    }
  }

  private queue(name: string): Bull.Queue<Delivery> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Bull<Delivery>(name, this.bullOptions);
      queue.on('error', (error) => this.logger.warn(`Bull queue ${name}: ${String(error)}`));
      this.queues.set(name, queue);
    }
    return queue;
  }
}

/**
 * Bull's due time is `timestamp + delay`. One `now` for every job added together gives jobs due at
 * the same time the same due time to the millisecond, so Bull moves them to its wait list in one
 * go and they start in priority order.
 */
function deliveryOptions(job: Dispatch, now: number): Bull.JobOptions {
  // Bull reads `timestamp` from the options (lib/job.js), though its typings leave it out.
  const options: Bull.JobOptions & { timestamp: number } = {
    timestamp: now,
    delay: Math.max(0, job.runAt.getTime() - now),
    ...(job.priority === 0 ? {} : { priority: bullPriority(job.priority) }),
    removeOnComplete: true,
    removeOnFail: true,
  };
  return options;
}

/** Junction runs higher priorities first; Bull runs lower numbers first, from 1. */
function bullPriority(priority: number): number {
  return Math.min(BULL_MAX_PRIORITY, Math.max(1, 1_000_000 - priority));
}
