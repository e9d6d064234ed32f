import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../../../common/metrics-registry.js';

/** returned: no queue was bound for it; the attempt failed and is retried. */
export type PublishOutcome = 'confirmed' | 'returned' | 'failed';
/** stored: a new event; duplicate: its key was known, nothing stored; rejected: dead-lettered; requeued: a transient failure. */
export type ConsumeOutcome = 'stored' | 'duplicate' | 'rejected' | 'requeued';

/** Messages this process published to and consumed from brokers, by connection name and outcome. */
@Injectable()
export class AmqpMetrics {
  private readonly published = new Counter({
    name: 'junction_amqp_messages_published_total',
    help: 'Messages amqp.publish jobs sent in this process, by connection and outcome (confirmed, returned, failed)',
    labelNames: ['connection', 'outcome'],
    registers: [],
  });
  private readonly consumed = new Counter({
    name: 'junction_amqp_messages_consumed_total',
    help: 'Messages consumed in this process, by connection and outcome (stored, duplicate, rejected, requeued)',
    labelNames: ['connection', 'outcome'],
    registers: [],
  });

  constructor(metrics: MetricsRegistry) {
    metrics.registry.registerMetric(this.published);
    metrics.registry.registerMetric(this.consumed);
  }

  publish(connection: string, outcome: PublishOutcome): void {
    this.published.inc({ connection, outcome });
  }

  consume(connection: string, outcome: ConsumeOutcome): void {
    this.consumed.inc({ connection, outcome });
  }
}
