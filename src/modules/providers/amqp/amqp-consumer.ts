import { Logger } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { ProviderError } from '../http/provider-error.js';
import { classifyAmqpError } from './amqp-broker.js';
import type { AmqpConsume } from './amqp-broker.js';
import type { AmqpLink } from './amqp-link.js';
import { reconnectDelay } from './amqp-link.js';
import type { AmqpMetrics } from './amqp.metrics.js';
import { DEFAULT_PREFETCH } from './amqp.provider.js';

/** What becomes of a message: acknowledged, dead-lettered (rejected without requeue), or put back. */
export type MessageVerdict = 'ack' | 'reject' | 'requeue';

export type ConsumerState = 'starting' | 'up' | 'down';

/** How long stopping waits for messages being turned into events before it closes the channel. */
const STOP_GRACE_MS = 5000;

/**
 * One queue consumed for one connection in this process: a channel of its own on the connection's
 * link, a bounded prefetch, each message acknowledged or rejected once `handle` has decided. When
 * the broker closes the channel or the connection, or cancels the consumer (its queue deleted),
 * it comes back by itself, waiting 1 s doubling to 30 s between tries.
 */
export class AmqpConsumer {
  private readonly logger = new Logger('Amqp');
  state: ConsumerState = 'starting';
  lastError: string | null = null;
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attaching: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly connection: { id: string; name: string },
    readonly consume: AmqpConsume,
    /** The connection's link as it is now (a new one after its URL or credentials changed). */
    private readonly link: () => AmqpLink,
    private readonly handle: (message: ConsumeMessage) => Promise<MessageVerdict>,
    /** The broker refused the credentials: the connection is marked, which stops this consumer. */
    private readonly refused: (error: ProviderError) => void,
    private readonly metrics: AmqpMetrics,
  ) {}

  start(): void {
    this.attachNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // An attach under way finishes first, so its channel is not left consuming after the stop.
    await this.attaching;
    const channel = this.channel;
    this.channel = null;
    if (!channel) return;
    if (this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    // Messages being stored finish and are acknowledged; the rest go back to the queue on close.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS))),
    ]);
    clearTimeout(timer);
    await channel.close().catch(() => undefined);
  }

  private attachNow(): void {
    this.attaching = this.attach()
      .catch((error: unknown) => {
        // attach handles the broker's failures itself; this is anything else (its link could not be made).
        this.lastError = error instanceof Error ? error.message : String(error);
        this.state = 'down';
        this.retryLater();
      })
      .finally(() => (this.attaching = null));
  }

  private async attach(): Promise<void> {
    if (this.stopped) return;
    const link = this.link();
    let channel: Channel | null = null;
    try {
      channel = await link.channel();
      if (this.stopped) {
        await channel.close().catch(() => undefined);
        return;
      }
      const opened = channel;
      opened.on('error', (error: Error) => (this.lastError = error.message));
      opened.on('close', () => this.detached(opened));
      await opened.prefetch(this.consume.prefetch ?? DEFAULT_PREFETCH);
      const { consumerTag } = await opened.consume(this.consume.queue, (message) =>
        this.received(opened, message),
      );
      if (this.stopped) {
        await opened.close().catch(() => undefined);
        return;
      }
      this.channel = opened;
      this.consumerTag = consumerTag;
      this.state = 'up';
      this.lastError = null;
      this.failures = 0;
      this.logger.log(
        `consuming ${this.consume.queue} for connection ${this.connection.name} on ${link.target.display}`,
      );
    } catch (error) {
      const failure = classifyAmqpError(error, `queue "${this.consume.queue}" on ${link.target.display}`);
      this.lastError = failure.message;
      this.state = 'down';
      if (failure.code === 'AUTH') this.refused(failure);
      await channel?.close().catch(() => undefined);
      this.retryLater();
    }
  }

  private detached(channel: Channel): void {
    if (this.channel !== channel) return;
    this.channel = null;
    this.consumerTag = null;
    if (this.stopped) return;
    this.state = 'down';
    this.lastError ??= 'the channel was closed';
    this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped || this.retryTimer) return;
    this.failures++;
    const delay = Math.max(reconnectDelay(this.failures), this.link().waitBeforeConnect());
    this.logger.warn(
      `consumer of ${this.consume.queue} for connection ${this.connection.name} is down (${this.lastError}); trying again in ${Math.ceil(delay / 1000)} s`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attachNow();
    }, delay);
    this.retryTimer.unref();
  }

  private received(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer: its queue was deleted. Start over, as after a close.
      this.lastError = `the broker cancelled the consumer of ${this.consume.queue} (was the queue deleted?)`;
      void channel.close().catch(() => undefined);
      return;
    }
    const work = this.handle(message).then(
      (verdict) => settle(channel, message, verdict),
      (error: unknown) => {
        // `handle` decides every message itself, so this is a fault that would come back with each
        // redelivery: put back at once, the message would loop without end.
        this.logger.error(
          `message ${String(message.properties.messageId ?? '(no id)')} from ${this.consume.queue} (connection ${this.connection.name}) failed unexpectedly (${error instanceof Error ? error.message : String(error)}): rejected`,
        );
        this.metrics.consume(this.connection.name, 'rejected');
        settle(channel, message, 'reject');
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}

/** Answers the broker; on a channel that closed meanwhile the message is redelivered, and stored once. */
function settle(channel: Channel, message: ConsumeMessage, verdict: MessageVerdict): void {
  try {
    if (verdict === 'ack') channel.ack(message);
    else channel.nack(message, false, verdict === 'requeue');
  } catch {
    // The channel is gone: the broker requeues what it had not been told of.
  }
}
