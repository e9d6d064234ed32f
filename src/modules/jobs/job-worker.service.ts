import { Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { AttemptStopped, JobExecutor } from './job-executor.service.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobLedger } from './job-ledger.service.js';
import { JobTransport } from './transports/job-transport.js';

/**
 * The worker role: starts the transport's consumers after boot, renews the leases of running jobs,
 * puts back jobs whose worker died, and on shutdown stops claiming, lets running jobs finish for a
 * grace period, then releases the rest so another worker takes them at once.
 */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private started = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly registry: JobHandlerRegistry,
    private readonly transport: JobTransport,
    private readonly executor: JobExecutor,
    private readonly ledger: JobLedger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.hasRole('worker')) return;
    const queues = new Map<string, number>();
    for (const [queue, concurrency] of this.registry.queues()) {
      queues.set(queue, concurrency ?? this.config.jobs.concurrency);
    }
    this.started = true;
    const { leaseMs } = this.config.jobs;
    this.every(Math.max(250, Math.floor(leaseMs / 3)), () => this.renewLeases());
    this.every(Math.max(250, Math.floor(leaseMs / 4)), () => this.expireLeases());
    await this.expireLeases();
    await this.transport.start(queues);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started) {
      await this.transport.close();
      return;
    }
    this.started = false;
    await this.transport.stopClaiming();
    const finished = await this.executor.drain(this.config.jobs.shutdownGraceMs);
    this.timers.forEach((timer) => clearInterval(timer));
    if (!finished) {
      const ids = this.executor.runningIds();
      for (const id of ids)
        this.executor.abort(id, new AttemptStopped('SHUTDOWN', 'the worker is shutting down'));
      const released = await this.ledger.release(ids);
      this.transport.dispatch(released);
      this.logger.warn(`released ${released.length} running job(s) at shutdown`);
    }
    await this.transport.close();
  }

  private every(ms: number, task: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void task().finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Keeps this worker's leases alive; a job whose lease is gone (cancelled, or taken over) is aborted. */
  private async renewLeases(): Promise<void> {
    const local = this.executor.runningIds();
    if (local.length === 0) return;
    try {
      const held = await this.ledger.renewLeases();
      const stillHere = new Set(this.executor.runningIds());
      for (const id of local) {
        if (!held.has(id) && stillHere.has(id)) {
          this.executor.abort(
            id,
            new AttemptStopped('LEASE_LOST', 'the job was cancelled or its lease was lost'),
          );
        }
      }
    } catch (error) {
      this.logger.warn(`renewing job leases failed: ${String(error)}`);
    }
  }

  private async expireLeases(): Promise<void> {
    try {
      const requeued = await this.ledger.expireLeases();
      if (requeued.length > 0) {
        this.logger.warn(`put back ${requeued.length} job(s) whose worker stopped renewing its lease`);
        this.transport.dispatch(requeued);
      }
    } catch (error) {
      this.logger.warn(`expiring job leases failed: ${String(error)}`);
    }
  }
}
