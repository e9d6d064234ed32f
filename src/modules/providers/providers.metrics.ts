import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metric } from 'prom-client';
import { MetricsRegistry } from '../../common/metrics-registry.js';
import { ConnectionStore } from './connection.store.js';

/** How an inbound webhook ended. */
export type WebhookResult =
  | 'accepted'
  | 'duplicate'
  | 'ignored'
  | 'refused'
  | 'unreadable'
  | 'paused'
  | 'rate_limited'
  | 'rejected_event';

/**
 * Partner calls made by this process (count by outcome code, duration), inbound webhooks by result, and the cluster's
 * connections by provider and state, read at scrape time.
 */
@Injectable()
export class ProvidersMetrics {
  private readonly calls = new Counter({
    name: 'junction_provider_calls_total',
    help: 'Partner calls made by this process, by provider and outcome (OK, TEMPORARY, RATE_LIMITED, AUTH, NOT_FOUND, PERMANENT)',
    labelNames: ['provider', 'code'],
    registers: [],
  });
  private readonly durations = new Histogram({
    name: 'junction_provider_call_duration_seconds',
    help: 'How long partner calls took in this process, by provider',
    labelNames: ['provider'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  private readonly webhooks = new Counter({
    name: 'junction_webhooks_received_total',
    help: 'Inbound webhooks received by this process, by provider and result (accepted, duplicate, ignored, refused, unreadable, paused, rate_limited, rejected_event)',
    labelNames: ['provider', 'result'],
    registers: [],
  });
  private readonly connections = new Gauge({
    name: 'junction_connections',
    help: 'Connections by provider and state',
    labelNames: ['provider', 'state'],
    registers: [],
  });

  constructor(
    metrics: MetricsRegistry,
    private readonly store: ConnectionStore,
  ) {
    const own: Metric[] = [this.calls, this.durations, this.webhooks, this.connections];
    for (const metric of own) metrics.registry.registerMetric(metric);
    metrics.onScrape(() => this.refresh());
  }

  callFinished(provider: string, code: string, seconds: number): void {
    this.calls.inc({ provider, code });
    this.durations.observe({ provider }, seconds);
  }

  webhookReceived(provider: string, result: WebhookResult): void {
    this.webhooks.inc({ provider, result });
  }

  private async refresh(): Promise<void> {
    this.connections.reset();
    for (const row of await this.store.countByProviderAndState()) {
      this.connections.set({ provider: row.provider, state: row.state }, row.count);
    }
  }
}
