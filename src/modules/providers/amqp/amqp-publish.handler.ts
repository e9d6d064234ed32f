import { Injectable } from '@nestjs/common';
import { Clock } from '../../../common/clock.js';
import { SpanKind, Tracing } from '../../../common/tracing/tracing.js';
import { IsBoolean, IsOptional, IsString, IsUUID, isUUID, MaxLength } from 'class-validator';
import type { ConfirmChannel } from 'amqplib';
import { EventsService } from '../../events/events.service.js';
import { DEFERRED_CODE, JobHandler, JobPayloadCheck } from '../../jobs/jobs.contract.js';
import type { JobContext, JobPayloadProblem } from '../../jobs/jobs.contract.js';
import { ConnectionStore } from '../connection.store.js';
import { ProviderError } from '../http/provider-error.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import { RateBudgets } from '../rate-budgets.service.js';
import { amqpNameProblem, classifyAmqpError } from './amqp-broker.js';
import type { AmqpConfig } from './amqp-broker.js';
import type { AmqpLink } from './amqp-link.js';
import { AmqpLinks } from './amqp-links.service.js';
import { AmqpMetrics } from './amqp.metrics.js';
import { AMQP_PROVIDER_KEY } from './amqp.provider.js';

export const AMQP_PUBLISH_JOB_TYPE = 'amqp.publish';

export class AmqpPublishPayload {
  @IsUUID()
  connectionId!: string;

  /** The exchange; the connection's `exchange` when absent. `""` is the broker's default exchange. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  exchange?: string;

  /** The event's name when absent. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  routingKey?: string;

  /** The message body (sent as JSON); the whole event that started the job when absent. */
  @IsOptional()
  message?: unknown;

  /**
   * `true` (the default): a message no queue is bound for is returned by the broker and the attempt
   * fails TEMPORARY. `false`: the broker drops it and the job succeeds (a fan-out nobody listens to).
   */
  @IsOptional()
  @IsBoolean()
  mandatory?: boolean;
}

export interface AmqpPublishResult {
  exchange: string;
  routingKey: string;
  messageId: string;
  bytes: number;
}

/**
 * `amqp.publish`: sends one message to an `amqp` connection's broker on the link's confirm
 * channel, and succeeds only when the broker confirms it, so nothing is lost between Junction and
 * the broker. A nack, a closed channel, a broker out of reach or a message returned unroutable
 * (no queue bound for its routing key, unless the payload says `mandatory: false`) fails the
 * attempt TEMPORARY and it is retried; the message keeps its `messageId` (the event's id) on every
 * try, so a consumer can drop a copy sent twice. A route sends events to the bus with no code:
 * `{ "jobType": "amqp.publish", "payloadTemplate": { "connectionId": "<id>", "exchange": "orders" } }`.
 */
@Injectable()
export class AmqpPublishHandler {
  constructor(
    private readonly calls: PartnerCallsService,
    private readonly connections: ConnectionStore,
    private readonly events: EventsService,
    private readonly links: AmqpLinks,
    private readonly budgets: RateBudgets,
    private readonly metrics: AmqpMetrics,
    private readonly clock: Clock,
    private readonly tracing: Tracing,
  ) {}

  /** Refuses, before any job runs, a connection that does not exist or is not an amqp one. */
  @JobPayloadCheck(AMQP_PUBLISH_JOB_TYPE)
  async checkPayload(payload: unknown): Promise<JobPayloadProblem[]> {
    const { connectionId } = (payload ?? {}) as { connectionId?: unknown };
    if (typeof connectionId !== 'string') return [];
    const connection = isUUID(connectionId) ? await this.connections.find(connectionId) : null;
    if (!connection) return [{ path: 'connectionId', message: `no connection has the id ${connectionId}` }];
    if (connection.provider !== AMQP_PROVIDER_KEY) {
      return [
        {
          path: 'connectionId',
          message: `connection ${connection.name} is a ${connection.provider} connection, not an ${AMQP_PROVIDER_KEY} one`,
        },
      ];
    }
    return [];
  }

  @JobHandler(AMQP_PUBLISH_JOB_TYPE, {
    queue: 'partners',
    // A broker away for long enough spends these slowly: while the link waits out its backoff,
    // a job is deferred without spending an attempt; only real tries count.
    maxAttempts: 20,
    backoff: { baseMs: 1000, factor: 2, maxMs: 300_000 },
    timeoutMs: 60_000,
    payload: AmqpPublishPayload,
  })
  async publish(ctx: JobContext<AmqpPublishPayload>): Promise<AmqpPublishResult> {
    const payload = readPayload(ctx.payload);
    const { connection, opened } = await this.calls.usable(payload.connectionId);
    if (connection.provider !== AMQP_PROVIDER_KEY)
      throw new ProviderError('PERMANENT', `connection ${connection.name} is not an amqp connection`);
    const config = opened.config as unknown as AmqpConfig;
    const exchange = payload.exchange ?? config.exchange;
    if (exchange === undefined) {
      throw new ProviderError(
        'PERMANENT',
        `the payload names no exchange and connection ${connection.name} has no default one`,
      );
    }
    const needsEvent = payload.message === undefined || payload.routingKey === undefined;
    const event = needsEvent && ctx.eventId ? await this.events.view(ctx.eventId) : null;
    const body = payload.message !== undefined ? payload.message : event;
    if (body === null || body === undefined) {
      throw new ProviderError(
        'PERMANENT',
        ctx.eventId
          ? `event ${ctx.eventId} is gone (retention?), and the payload has no message`
          : 'the payload has no message, and no event started the job',
      );
    }
    const routingKey = payload.routingKey ?? event?.name ?? '';
    // amqplib would throw on each try, and the job be retried for hours with no chance to succeed.
    for (const [field, name] of [
      ['exchange', exchange],
      ['routing key', routingKey],
    ] as const) {
      const problem = amqpNameProblem(name);
      if (problem) throw new ProviderError('PERMANENT', `the ${field} ${problem}`);
    }
    const messageId = event?.id ?? ctx.eventId ?? ctx.idempotencyKey ?? ctx.jobId;
    const content = Buffer.from(JSON.stringify(body));

    // Every use of a connection shares its budget: a connection with a config.rateLimit limits
    // its publishes too (amqp declares no default, a broker takes what it is sent).
    await this.budgets.take(connection, undefined);
    const link = this.links.linkFor(opened, connection.name);
    const started = performance.now();
    // A producer span per publish; its traceparent travels in the message's headers, so a
    // consumer can continue the trace.
    const span = this.tracing.startSpan(`publish ${exchange}`, SpanKind.PRODUCER, {
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': exchange,
      'messaging.rabbitmq.destination.routing_key': routingKey,
      'messaging.message.id': messageId,
    });
    const traceParent = span ? this.tracing.traceParent(span) : null;
    let returned: string | null;
    try {
      await link.assertExchangeExists(exchange);
      const channel = await link.confirmChannel();
      returned = await confirmed(link, channel, ctx.signal, {
        exchange,
        routingKey,
        content,
        mandatory: payload.mandatory ?? true,
        properties: {
          messageId,
          type: event?.name,
          timestamp: Math.floor((event ? Date.parse(event.occurredAt) : this.clock.now().getTime()) / 1000),
          ...(traceParent ? { headers: { traceparent: traceParent } } : {}),
        },
      });
    } catch (error) {
      this.tracing.end(span, error);
      if (ctx.signal.aborted) {
        this.metrics.publish(connection.name, 'failed');
        throw error;
      }
      const failure = classifyAmqpError(error, `publish to exchange "${exchange}" on ${link.target.display}`);
      // DEFERRED: the link is waiting out its backoff and nothing was sent.
      if (failure.code !== DEFERRED_CODE) this.metrics.publish(connection.name, 'failed');
      if (failure.code === 'AUTH') await this.calls.refused(connection, failure);
      throw failure;
    }
    const sent = `published ${messageId} to exchange "${exchange}" with routing key "${routingKey}" on ${link.target.display}`;
    const took = `${Math.round(performance.now() - started)} ms`;
    if (returned) {
      // Retried: the queue it is meant for may be bound later.
      const failure = new ProviderError(
        'TEMPORARY',
        `${link.target.display}: no queue is bound to exchange "${exchange}" for routing key "${routingKey}": the broker returned the message (${returned})`,
      );
      this.tracing.end(span, failure);
      this.metrics.publish(connection.name, 'returned');
      await ctx.log(`${sent} -> returned unroutable in ${took}`);
      throw failure;
    }
    this.tracing.end(span);
    this.metrics.publish(connection.name, 'confirmed');
    await ctx.log(`${sent} -> confirmed in ${took}`);
    return { exchange, routingKey, messageId, bytes: content.length };
  }
}

interface Publish {
  exchange: string;
  routingKey: string;
  content: Buffer;
  mandatory: boolean;
  properties: { messageId: string; type?: string; timestamp: number; headers?: Record<string, string> };
}

/**
 * Publishes persistent JSON and resolves when the broker confirms it: to the broker's reply when it
 * returned the message before that, no queue having taken it (`mandatory`), else to null. A nack
 * or a closed channel rejects.
 */
function confirmed(
  link: AmqpLink,
  channel: ConfirmChannel,
  signal: AbortSignal,
  { exchange, routingKey, content, mandatory, properties }: Publish,
): Promise<string | null> {
  signal.throwIfAborted();
  return new Promise<string | null>((resolve, reject) => {
    let returned: string | null = null;
    // Publishes of one event (two routes, say) share its id; its exchange and routing key tell them
    // apart. Two in flight with all three alike are both failed by one return: sent again, never lost.
    const stopListening = mandatory
      ? link.onReturn(properties.messageId, (message) => {
          const fields = message.fields as typeof message.fields & { replyCode: number; replyText: string };
          if (fields.exchange === exchange && fields.routingKey === routingKey)
            returned = `${fields.replyCode} ${fields.replyText}`;
        })
      : () => undefined;
    const onAbort = () => {
      stopListening();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      stopListening();
      if (error) reject(error instanceof Error ? error : new Error('the broker did not confirm the message'));
      else resolve(returned);
    };
    try {
      channel.publish(
        exchange,
        routingKey,
        content,
        { ...properties, mandatory, persistent: true, contentType: 'application/json', appId: 'junction' },
        (error: unknown) => settle(error),
      );
    } catch (error) {
      settle(error);
    }
  });
}

function readPayload(payload: unknown): AmqpPublishPayload {
  const read = (payload ?? {}) as Partial<AmqpPublishPayload>;
  if (typeof read.connectionId !== 'string')
    throw new ProviderError('PERMANENT', 'an amqp.publish payload needs a connectionId');
  for (const field of ['exchange', 'routingKey'] as const) {
    if (read[field] !== undefined && typeof read[field] !== 'string')
      throw new ProviderError('PERMANENT', `an amqp.publish payload's ${field} must be text`);
  }
  if (read.mandatory !== undefined && typeof read.mandatory !== 'boolean')
    throw new ProviderError('PERMANENT', "an amqp.publish payload's mandatory must be true or false");
  return read as AmqpPublishPayload;
}
