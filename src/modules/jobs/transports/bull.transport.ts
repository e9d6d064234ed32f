import { Inject, Injectable, Logger } from '@nestjs/common';
import { getSharedConfigToken } from '@nestjs/bull';
import { InjectDataSource } from '@nestjs/typeorm';
import Bull from 'bull';
import { DataSource } from 'typeorm';
import { Clock } from '../../../common/clock.js';
import { AppConfig } from '../../../config/app-config.js';
import { rawSql } from '../../../database/raw-sql.js';
import { JobExecutor } from '../job-executor.service.js';
import { BLOCKED_RETRY_MS, dispatchFromRow, JobLedger } from '../job-ledger.service.js';
import type { Dispatch } from '../job-ledger.service.js';
import { JobTransport } from './job-transport.js';
import { WorkerSlots } from './worker-slots.js';

interface Delivery {
  jobId: string;
  keyed: boolean;
}

/** Thrown to Bull so it delivers the same id again shortly: the job is not due yet, or its key is busy. */
class NotYet extends Error {}

/** The most jobs one reconciler pass compares with Redis. */
const RECONCILE_BATCH = 500;
const BULL_MAX_PRIORITY = 2_097_152;

/**
 * Bull on Redis carries job ids; the ledger still decides. Each delivery has a Bull id made of the
 * job id and the attempts started before it, so adding the same delivery twice is harmless. A
 * reconciler re-adds deliveries that the ledger says are due but Redis does not have (a crash
 * between commit and add, a flushed Redis).
 */
@Injectable()
export class BullTransport extends JobTransport {
  private readonly logger = new Logger('Jobs');
  private readonly queues = new Map<string, Bull.Queue<Delivery>>();
  private readonly slots: WorkerSlots;
  private reconciler: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(
    @Inject(getSharedConfigToken()) private readonly bullOptions: Bull.QueueOptions,
    private readonly ledger: JobLedger,
    private readonly executor: JobExecutor,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    super();
    this.slots = new WorkerSlots(config.jobs.concurrency);
  }

  dispatch(jobs: Dispatch[]): void {
    const byQueue = new Map<string, Dispatch[]>();
    for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    for (const [queue, batch] of byQueue) {
      this.queue(queue)
        .addBulk(batch.map((job) => ({ data: deliveryData(job), opts: deliveryOptions(job) })))
        .catch((error: unknown) =>
          this.logger.warn(
            `could not hand ${batch.length} job(s) to Redis (the reconciler will): ${String(error)}`,
          ),
        );
    }
  }

  start(queues: Map<string, number>): Promise<void> {
    for (const [name, concurrency] of queues) {
      void this.queue(name).process(concurrency, (delivery) => this.deliver(delivery));
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
    clearInterval(this.reconciler);
    await this.reconciling;
    await Promise.all([...this.queues.values()].map((queue) => queue.pause(true, true)));
  }

  async close(): Promise<void> {
    clearInterval(this.reconciler);
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }

  /** Finds due jobs the ledger holds as waiting and adds each whose delivery Redis lost. */
  async reconcile(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.jobs.reconcileMs);
    const { rows } = await rawSql<Record<string, unknown>>(
      this.dataSource.manager,
      `SELECT id, attempt, queue, priority, run_at, concurrency_key FROM job
       WHERE status IN ('queued', 'failed') AND run_at <= ? ORDER BY run_at LIMIT ?`,
      [cutoff, RECONCILE_BATCH],
    );
    let readded = 0;
    for (const row of rows) {
      const job = dispatchFromRow(row);
      const queue = this.queue(job.queue);
      const existing = await queue.getJob(deliveryId(job));
      if (existing && !(await existing.isFailed()) && !(await existing.isCompleted())) continue;
      // It may have run and left Redis since the query above: only a job still waiting is lost.
      if (!(await this.stillWaiting(job))) continue;
      await existing?.remove();
      await this.add(job);
      readded++;
    }
    if (readded > 0) this.logger.warn(`re-added ${readded} job(s) that Redis did not hold`);
    return readded;
  }

  private async add(job: Dispatch): Promise<void> {
    await this.queue(job.queue).add(deliveryData(job), deliveryOptions(job));
  }

  private async stillWaiting(job: Dispatch): Promise<boolean> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT id FROM job WHERE id = ? AND attempt = ? AND status IN ('queued', 'failed')`,
      [job.id, job.attempt],
    );
    return rows.length === 1;
  }

  private async deliver(delivery: Bull.Job<Delivery>): Promise<void> {
    await this.slots.acquire();
    try {
      const claimed = await this.ledger.claimOne(delivery.data.jobId, delivery.data.keyed !== false);
      if ('kind' in claimed) {
        if (claimed.kind === 'gone') return;
        throw new NotYet(
          claimed.kind === 'later' ? `due at ${claimed.runAt.toISOString()}` : 'concurrency key busy',
        );
      }
      const retry = await this.executor.run(claimed);
      if (retry) await this.add(retry);
    } finally {
      this.slots.release();
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

function deliveryData(job: Dispatch): Delivery {
  return { jobId: job.id, keyed: job.keyed };
}

function deliveryOptions(job: Dispatch): Bull.JobOptions {
  return {
    jobId: deliveryId(job),
    delay: Math.max(0, job.runAt.getTime() - Date.now()),
    ...(job.priority === 0 ? {} : { priority: bullPriority(job.priority) }),
    // Bull only retries a delivery the ledger could not take yet; the job's own retries are ours.
    attempts: Number.MAX_SAFE_INTEGER,
    backoff: { type: 'fixed', delay: BLOCKED_RETRY_MS },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

function deliveryId(job: Dispatch): string {
  return `${job.id}:${job.attempt}`;
}

/** Junction runs higher priorities first; Bull runs lower numbers first, from 1. */
function bullPriority(priority: number): number {
  return Math.min(BULL_MAX_PRIORITY, Math.max(1, 1_000_000 - priority));
}
