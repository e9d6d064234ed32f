import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Queue-level figures read from the ledger when Prometheus scrapes. */
export interface LedgerSnapshot {
  byTypeAndStatus: { type: string; status: string; count: number }[];
  queues: { queue: string; depth: number; oldestQueuedAgeSeconds: number }[];
}

/**
 * Prometheus metrics for jobs, in a registry of this application's own (so two apps in one test
 * process do not collide). Counts by state come from the ledger at scrape time, so they are the
 * cluster's; attempt durations are this process's.
 */
@Injectable()
export class JobsMetrics {
  readonly registry = new Registry();
  private snapshotSource: (() => Promise<LedgerSnapshot>) | undefined;
  private readonly jobs = new Gauge({
    name: 'junction_jobs',
    help: 'Jobs in the ledger by type and state',
    labelNames: ['type', 'status'],
    registers: [this.registry],
  });
  private readonly depth = new Gauge({
    name: 'junction_queue_depth',
    help: 'Jobs waiting to run (queued, or failed with a retry due), by queue',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly oldest = new Gauge({
    name: 'junction_queue_oldest_queued_age_seconds',
    help: 'How long the oldest due job of a queue has been waiting',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  private readonly durations = new Histogram({
    name: 'junction_job_attempt_duration_seconds',
    help: 'How long attempts took in this process, by type and outcome',
    labelNames: ['type', 'outcome'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: 'junction_job_attempts_total',
    help: 'Attempts finished in this process, by type and outcome',
    labelNames: ['type', 'outcome'],
    registers: [this.registry],
  });

  /** JobsService supplies the ledger's figures: a callback, so this class need not depend on it (it depends on this one). */
  readFrom(source: () => Promise<LedgerSnapshot>): void {
    this.snapshotSource = source;
  }

  attemptFinished(type: string, outcome: string, seconds: number): void {
    this.durations.observe({ type, outcome }, seconds);
    this.attempts.inc({ type, outcome });
  }

  async render(): Promise<string> {
    if (this.snapshotSource) {
      const snapshot = await this.snapshotSource();
      this.jobs.reset();
      for (const row of snapshot.byTypeAndStatus)
        this.jobs.set({ type: row.type, status: row.status }, row.count);
      this.depth.reset();
      this.oldest.reset();
      for (const queue of snapshot.queues) {
        this.depth.set({ queue: queue.queue }, queue.depth);
        this.oldest.set({ queue: queue.queue }, queue.oldestQueuedAgeSeconds);
      }
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
