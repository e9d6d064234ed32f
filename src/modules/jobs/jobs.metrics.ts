import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metric } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics-registry.js';

/** Queue-level figures read from the ledger when Prometheus scrapes. */
export interface LedgerSnapshot {
  byTypeAndStatus: { type: string; status: string; count: number }[];
  queues: { queue: string; depth: number; oldestQueuedAgeSeconds: number }[];
}

/**
 * Prometheus metrics for jobs, in the application's registry. Counts by state come from the
 * ledger at scrape time, so they are the cluster's; attempt durations are this process's.
 */
@Injectable()
export class JobsMetrics {
  private snapshotSource: (() => Promise<LedgerSnapshot>) | undefined;
  private readonly jobs = new Gauge({
    name: 'junction_jobs',
    help: 'Jobs in the ledger by type and state',
    labelNames: ['type', 'status'],
    registers: [],
  });
  private readonly depth = new Gauge({
    name: 'junction_queue_depth',
    help: 'Jobs waiting to run (queued, or failed with a retry due), by queue',
    labelNames: ['queue'],
    registers: [],
  });
  private readonly oldest = new Gauge({
    name: 'junction_queue_oldest_queued_age_seconds',
    help: 'How long the oldest due job of a queue has been waiting',
    labelNames: ['queue'],
    registers: [],
  });
  private readonly durations = new Histogram({
    name: 'junction_job_attempt_duration_seconds',
    help: 'How long attempts took in this process, by type and outcome',
    labelNames: ['type', 'outcome'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [],
  });
  private readonly attempts = new Counter({
    name: 'junction_job_attempts_total',
    help: 'Attempts finished in this process, by type and outcome',
    labelNames: ['type', 'outcome'],
    registers: [],
  });

  constructor(metrics: MetricsRegistry) {
    const metricsOfJobs: Metric[] = [this.jobs, this.depth, this.oldest, this.durations, this.attempts];
    for (const metric of metricsOfJobs) metrics.registry.registerMetric(metric);
    metrics.onScrape(() => this.refresh());
  }

  /** JobsService supplies the ledger's figures: a callback, so this class need not depend on it (it depends on this one). */
  readFrom(source: () => Promise<LedgerSnapshot>): void {
    this.snapshotSource = source;
  }

  attemptFinished(type: string, outcome: string, seconds: number): void {
    this.durations.observe({ type, outcome }, seconds);
    this.attempts.inc({ type, outcome });
  }

  private async refresh(): Promise<void> {
    if (!this.snapshotSource) return;
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
}
