import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { ReadinessChecks } from '../../../common/readiness.js';
import type { ReadinessReport } from '../../../common/readiness.js';
import { AppConfig } from '../../../config/app-config.js';
import { EventIntakeService } from '../../events/event-intake.service.js';
import { ConnectionChanges } from '../connection-changes.service.js';
import type { Connection } from '../connection.entity.js';
import { ConnectionStore } from '../connection.store.js';
import { ConnectionsService } from '../connections.service.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import type { AmqpConfig, AmqpConsume } from './amqp-broker.js';
import { AmqpConsumer } from './amqp-consumer.js';
import type { MessageVerdict } from './amqp-consumer.js';
import { AmqpLinks } from './amqp-links.service.js';
import { AmqpMetrics } from './amqp.metrics.js';
import { AMQP_PROVIDER_KEY } from './amqp.provider.js';

/** How often a process looks for connections changed by other processes. */
export const CONSUMER_POLL_MS = 3000;
/** A transient failure (the database away) puts the message back after this pause, not at once. */
const REQUEUE_PAUSE_MS = 1000;
/** The longest idempotency key an event takes; a longer messageId is hashed. */
const MAX_KEY_LENGTH = 300;

/**
 * The AMQP consumers of a worker process: one per active `amqp` connection whose config has
 * `consume`. They follow the connections: a change made in this process applies at once (after it
 * commits), one made elsewhere within a few seconds. Each message becomes an event through the
 * event intake and is acknowledged once the event is committed; one that is not JSON, or that the
 * intake refuses, is rejected without requeue (to the queue's dead-letter exchange); a transient
 * failure puts it back after a pause.
 */
@Injectable()
export class AmqpConsumers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Amqp');
  private readonly consumers = new Map<string, { fingerprint: string; consumer: AmqpConsumer }>();
  private timer: NodeJS.Timeout | null = null;
  private tail: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly store: ConnectionStore,
    private readonly connections: ConnectionsService,
    private readonly links: AmqpLinks,
    private readonly intake: EventIntakeService,
    private readonly metrics: AmqpMetrics,
    private readonly changes: ConnectionChanges,
    private readonly readiness: ReadinessChecks,
    private readonly calls: PartnerCallsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.hasRole('worker')) return;
    this.changes.listen((id) => this.serially(() => this.refreshOne(id)));
    this.readiness.add(() => this.reports());
    this.serially(() => this.refreshAll());
    this.timer = setInterval(() => this.serially(() => this.refreshAll()), CONSUMER_POLL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.tail;
    const all = [...this.consumers.values()];
    this.consumers.clear();
    await Promise.all(all.map(({ consumer }) => consumer.stop()));
  }

  /** Each consumer's state, for `/health/ready`: `amqp:<connection name>`. */
  reports(): ReadinessReport[] {
    return [...this.consumers.values()].map(({ consumer }) => ({
      key: `amqp:${consumer.connection.name}`,
      up: consumer.state === 'up',
      details: {
        state: consumer.state,
        connectionId: consumer.connection.id,
        queue: consumer.consume.queue,
        ...(consumer.lastError ? { error: consumer.lastError } : {}),
      },
    }));
  }

  /** Refreshes run one at a time, so two cannot start a consumer twice. */
  private serially(work: () => Promise<void>): void {
    this.tail = this.tail
      .then(() => (this.stopping ? undefined : work()))
      .catch((error: unknown) => this.logger.warn(`consumers not refreshed: ${(error as Error).message}`));
  }

  private async refreshAll(): Promise<void> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.store.page({ provider: AMQP_PROVIDER_KEY }, { limit: 200, cursor });
      for (const connection of page.items) {
        seen.add(connection.id);
        await this.apply(connection);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    for (const id of this.consumers.keys()) if (!seen.has(id)) await this.stopConsumer(id);
  }

  private async refreshOne(id: string): Promise<void> {
    const connection = await this.store.find(id);
    if (connection?.provider === AMQP_PROVIDER_KEY) return this.apply(connection);
    await this.stopConsumer(id);
    if (!connection) await this.links.drop(id);
  }

  private async apply(connection: Connection): Promise<void> {
    const { consume } = connection.config as unknown as AmqpConfig;
    if (connection.state !== 'active' || !consume) return this.stopConsumer(connection.id);
    const fingerprint = JSON.stringify([connection.name, connection.config, connection.credentialsSealed]);
    if (this.consumers.get(connection.id)?.fingerprint === fingerprint) return;
    await this.stopConsumer(connection.id);
    const opened = this.connections.open(connection);
    const consumer = new AmqpConsumer(
      { id: connection.id, name: connection.name },
      consume,
      () => this.links.linkFor(opened, connection.name),
      (message) => this.toEvent(connection, consume, message),
      (error) =>
        void this.calls
          .refused(connection, error)
          .catch((failure: unknown) =>
            this.logger.warn(`connection ${connection.name} not marked: ${String(failure)}`),
          ),
    );
    this.consumers.set(connection.id, { fingerprint, consumer });
    consumer.start();
  }

  private async stopConsumer(id: string): Promise<void> {
    const known = this.consumers.get(id);
    if (!known) return;
    this.consumers.delete(id);
    await known.consumer.stop();
    this.logger.log(
      `stopped consuming ${known.consumer.consume.queue} for connection ${known.consumer.connection.name}`,
    );
  }

  private async toEvent(
    connection: Connection,
    consume: AmqpConsume,
    message: ConsumeMessage,
  ): Promise<MessageVerdict> {
    const where = `message ${message.properties.messageId ?? '(no id)'} from ${consume.queue} (connection ${connection.name})`;
    let data: unknown;
    try {
      data = JSON.parse(message.content.toString('utf8'));
    } catch {
      this.logger.warn(`${where} is not JSON: rejected`);
      this.metrics.consume(connection.name, 'rejected');
      return 'reject';
    }
    const { messageId, type, timestamp } = message.properties as {
      messageId?: unknown;
      type?: unknown;
      timestamp?: unknown;
    };
    const input = {
      name: consume.eventName ?? (typeof type === 'string' && type !== '' ? type : message.fields.routingKey),
      source: consume.source ?? `connection:${connection.id}`,
      data,
      idempotencyKey: idempotencyKeyOf(messageId, message.content),
      ...(typeof timestamp === 'number' ? { occurredAt: new Date(timestamp * 1000).toISOString() } : {}),
    };
    try {
      const [result] = await this.intake.ingestBatch([input], null);
      if (!result.ok) {
        this.logger.warn(`${where} was refused (${result.error.code}: ${result.error.message}): rejected`);
        this.metrics.consume(connection.name, 'rejected');
        return 'reject';
      }
      this.metrics.consume(connection.name, result.ingested.duplicate ? 'duplicate' : 'stored');
      return 'ack';
    } catch (error) {
      this.logger.warn(`${where} could not be stored (${(error as Error).message}): put back`);
      this.metrics.consume(connection.name, 'requeued');
      await sleep(REQUEUE_PAUSE_MS);
      return 'requeue';
    }
  }
}

/** The message's id, or the hash of its body when it has none, as an event's idempotency key. */
function idempotencyKeyOf(messageId: unknown, content: Buffer): string {
  if (typeof messageId === 'string' && messageId !== '') {
    return messageId.length <= MAX_KEY_LENGTH
      ? messageId
      : `sha256:${createHash('sha256').update(messageId).digest('hex')}`;
  }
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}
