import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { storableKey } from '../../../common/storable-key.js';
import { ReadinessChecks } from '../../../common/readiness.js';
import type { ReadinessReport } from '../../../common/readiness.js';
import { AppConfig } from '../../../config/app-config.js';
import { isDatabaseUnavailable } from '../../../database/db-errors.js';
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
import { readMessageBody } from './amqp-message-body.js';
import { AmqpMetrics } from './amqp.metrics.js';
import { AMQP_PROVIDER_KEY } from './amqp.provider.js';

/** How often a process looks for connections changed by other processes. */
export const CONSUMER_POLL_MS = 3000;
/** A failure that may be transient (the database away) puts the message back after this pause, not at once. */
const REQUEUE_PAUSE_MS = 1000;
/** How far past the event size limit a compressed message may unpack before it is refused, unpacked no further. */
const BODY_BYTES_PER_DATA_BYTE = 4;
/** The latest time an event can hold: `occurredAt` is written with a four-digit year. */
const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The AMQP consumers of a worker process: one per active `amqp` connection whose config has
 * `consume`. They follow the connections: a change made in this process applies at once (after it
 * commits), one made elsewhere within a few seconds. Each message becomes an event through the
 * event intake and is acknowledged once the event is committed; one that is not JSON, or that the
 * intake refuses, is rejected without requeue (to the queue's dead-letter exchange); any other
 * failure puts it back after a pause, and dead-letters it when it fails again on its redelivery
 * while the database answers (see `failed`).
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
      this.metrics,
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
    const body = readMessageBody(message, BODY_BYTES_PER_DATA_BYTE * this.config.events.maxDataBytes);
    if (!body.ok) {
      this.logger.warn(`${where} ${body.reason}: rejected`);
      this.metrics.consume(connection.name, 'rejected');
      return 'reject';
    }
    const { data } = body;
    try {
      const [result] = await this.intake.ingestBatch(
        [this.inputOf(connection, consume, message, data, where)],
        null,
      );
      if (!result.ok) {
        this.logger.warn(`${where} was refused (${result.error.code}: ${result.error.message}): rejected`);
        this.metrics.consume(connection.name, 'rejected');
        return 'reject';
      }
      this.metrics.consume(connection.name, result.ingested.duplicate ? 'duplicate' : 'stored');
      return 'ack';
    } catch (error) {
      return this.failed(connection, message, where, error);
    }
  }

  /** The event a message makes; called inside `toEvent`'s try, so nothing it throws escapes the verdict. */
  private inputOf(
    connection: Connection,
    consume: AmqpConsume,
    message: ConsumeMessage,
    data: unknown,
    where: string,
  ): Record<string, unknown> {
    const { messageId, type, timestamp } = message.properties as {
      messageId?: unknown;
      type?: unknown;
      timestamp?: unknown;
    };
    const occurredAt = occurredAtOf(timestamp);
    if (timestamp !== undefined && timestamp !== null && occurredAt === undefined) {
      this.logger.warn(
        `${where} has a timestamp (${JSON.stringify(timestamp)}) that is no time in seconds: left out`,
      );
    }
    return {
      name: consume.eventName ?? (typeof type === 'string' && type !== '' ? type : message.fields.routingKey),
      source: consume.source ?? `connection:${connection.id}`,
      data,
      idempotencyKey:
        typeof messageId === 'string' && messageId !== ''
          ? storableKey(messageId)
          : `sha256:${createHash('sha256').update(message.content).digest('hex')}`,
      ...(occurredAt === undefined ? {} : { occurredAt }),
    };
  }

  /**
   * A message that failed for a reason other than a refusal: the database away, which passes, or
   * something in the message that fails the same way every time. Redelivery alone cannot tell
   * them apart (during an outage every message fails twice), so a message that fails again on
   * its redelivery is dead-lettered only when the database answers meanwhile; while it does not,
   * the message goes back after a pause, and an outage dead-letters nothing.
   */
  private async failed(
    connection: Connection,
    message: ConsumeMessage,
    where: string,
    error: unknown,
  ): Promise<MessageVerdict> {
    const reason = error instanceof Error ? error.message : String(error);
    // A write the database could not take now (SQLite locked by another writer while reads still
    // answer, a PostgreSQL server shutting down) is no fault of the message, whatever a read says.
    if (
      message.fields.redelivered &&
      !isDatabaseUnavailable(error) &&
      (await this.databaseAnswers(connection.id))
    ) {
      this.logger.error(`${where} failed again, while the database answers (${reason}): rejected`);
      this.metrics.consume(connection.name, 'rejected');
      return 'reject';
    }
    this.logger.warn(`${where} could not be stored (${reason}): put back`);
    this.metrics.consume(connection.name, 'requeued');
    await sleep(REQUEUE_PAUSE_MS);
    return 'requeue';
  }

  /** Whether the database takes a query now: the connection's own row, read. */
  private async databaseAnswers(connectionId: string): Promise<boolean> {
    try {
      await this.store.find(connectionId);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * When the event happened: the message's `timestamp`, seconds since 1970. One that names no time
 * an event can hold (milliseconds or microseconds sent as seconds) is left out, and the event
 * takes the time it is received: the message itself is sound, and dead-lettering it for a
 * sender's unit would lose it.
 */
function occurredAtOf(timestamp: unknown): string | undefined {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return undefined;
  const ms = timestamp * 1000;
  return ms >= 0 && ms <= LATEST_TIME_MS ? new Date(ms).toISOString() : undefined;
}
