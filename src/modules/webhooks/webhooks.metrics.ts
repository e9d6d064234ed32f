import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics-registry.js';

/** The outcome of one delivery attempt, as counted. */
export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'refused';

/** Delivery attempts made by this process, by endpoint and outcome, and how long they took. */
@Injectable()
export class WebhooksMetrics {
  private readonly attempts = new Counter({
    name: 'junction_webhook_deliveries_total',
    help: 'Outbound webhook delivery attempts made by this process, by endpoint and outcome (succeeded, retrying, failed, refused)',
    labelNames: ['endpoint', 'outcome'],
    registers: [],
  });
  private readonly latency = new Histogram({
    name: 'junction_webhook_delivery_duration_seconds',
    help: 'How long outbound webhook requests took in this process, by endpoint',
    labelNames: ['endpoint'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [],
  });

  constructor(metrics: MetricsRegistry) {
    metrics.registry.registerMetric(this.attempts);
    metrics.registry.registerMetric(this.latency);
  }

  attempted(endpoint: string, outcome: AttemptOutcome, durationMs: number): void {
    this.attempts.inc({ endpoint, outcome });
    this.latency.observe({ endpoint }, durationMs / 1000);
  }
}
