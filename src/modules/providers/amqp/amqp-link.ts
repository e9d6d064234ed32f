import { Logger } from '@nestjs/common';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { DEFERRED_CODE } from '../../jobs/jobs.contract.js';
import { ProviderError } from '../http/provider-error.js';
import { classifyAmqpError, CONNECT_TIMEOUT_MS } from './amqp-broker.js';

/** Reconnecting waits 1 s after the first failure, doubling up to 30 s; a success starts again at 1 s. */
export const RECONNECT_FIRST_MS = 1000;
export const RECONNECT_MAX_MS = 30_000;

export function reconnectDelay(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** Math.min(failures - 1, 16));
}

export interface LinkTarget {
  connectionId: string;
  /** The broker URL without credentials, for messages. */
  display: string;
  options: Options.Connect;
  clientName: string;
}

/**
 * One broker connection for one Junction connection in this process, with one confirm channel for
 * publishing, both opened on first use and reused. When the broker drops them (a restart, an
 * error), the next use opens them again, but not before the backoff since the last failure has
 * passed: until then uses fail at once, DEFERRED until then (a job spends no attempt on them). Consumers open channels of their own on it and
 * hear of its loss through `onLost`.
 */
export class AmqpLink {
  private readonly logger = new Logger('Amqp');
  private model: ChannelModel | null = null;
  private opening: Promise<ChannelModel> | null = null;
  private confirm: Promise<ConfirmChannel> | null = null;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  private readonly lostListeners = new Set<() => void>();
  /** Exchanges this link has seen exist, so a publish checks each one once. */
  private readonly knownExchanges = new Set<string>();
  /** Publishes on the confirm channel awaiting their confirm, by message id: told if theirs is returned. */
  private readonly returnListeners = new Map<string, Set<(returned: Message) => void>>();

  constructor(
    readonly target: LinkTarget,
    private readonly now: () => number = Date.now,
  ) {}

  get connected(): boolean {
    return this.model !== null;
  }

  /** How long until the next connection attempt is allowed; 0 when it may be made now. */
  waitBeforeConnect(): number {
    return Math.max(0, this.retryAt - this.now());
  }

  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** The connection, opened if it is not, unless the backoff after a failure has not passed. */
  async connection(): Promise<ChannelModel> {
    if (this.closed) throw new ProviderError('TEMPORARY', `${this.target.display}: the link is closed`);
    if (this.model) return this.model;
    if (this.opening) return this.opening;
    const wait = this.waitBeforeConnect();
    if (wait > 0) {
      // Not tried, so no attempt of the job is spent: it comes back when the link may try again.
      throw new ProviderError(
        DEFERRED_CODE,
        `${this.target.display}: the broker could not be reached; trying again in ${Math.ceil(wait / 1000)} s`,
        { retryAfterMs: wait },
      );
    }
    this.opening = this.open().finally(() => (this.opening = null));
    return this.opening;
  }

  /** The shared confirm channel, opened (with the connection) if it is not. */
  async confirmChannel(): Promise<ConfirmChannel> {
    if (!this.confirm) {
      const opening = this.connection().then((model) => model.createConfirmChannel());
      this.confirm = opening;
      opening.then(
        (channel) => {
          channel.on('error', (error: Error) => this.channelError(error));
          // One listener for every publish on the channel, however many are in flight.
          channel.on('return', (returned: Message) => this.returned(returned));
          channel.on('close', () => {
            if (this.confirm === opening) this.confirm = null;
          });
        },
        () => {
          if (this.confirm === opening) this.confirm = null;
        },
      );
    }
    try {
      return await this.confirm;
    } catch (error) {
      throw classifyAmqpError(error, this.target.display);
    }
  }

  /** A channel of its own (a consumer's), on the shared connection. */
  async channel(): Promise<Channel> {
    try {
      return await (await this.connection()).createChannel();
    } catch (error) {
      throw classifyAmqpError(error, this.target.display);
    }
  }

  /**
   * Checks once per link that an exchange exists, on a channel of its own: publishing to a missing
   * one would make the broker close the shared channel, failing every publish in flight on it.
   */
  async assertExchangeExists(exchange: string): Promise<void> {
    if (exchange === '' || this.knownExchanges.has(exchange)) return;
    const channel = await this.channel();
    channel.on('error', () => undefined);
    try {
      await channel.checkExchange(exchange);
      this.knownExchanges.add(exchange);
    } catch (error) {
      throw classifyAmqpError(error, `${this.target.display}: exchange "${exchange}"`);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Calls `listener` when the broker returns a message published with this id on the confirm
   * channel (unroutable, published `mandatory`); it does so before it confirms the message. The
   * answer stops listening.
   */
  onReturn(messageId: string, listener: (returned: Message) => void): () => void {
    const listeners = this.returnListeners.get(messageId) ?? new Set();
    this.returnListeners.set(messageId, listeners);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.returnListeners.get(messageId) === listeners)
        this.returnListeners.delete(messageId);
    };
  }

  forgetExchange(exchange: string): void {
    this.knownExchanges.delete(exchange);
  }

  async close(): Promise<void> {
    this.closed = true;
    const model = this.model ?? (await this.opening?.catch(() => null)) ?? null;
    this.model = null;
    this.confirm = null;
    await model?.close().catch(() => undefined);
  }

  private async open(): Promise<ChannelModel> {
    try {
      const model = await amqp.connect(this.target.options, {
        timeout: CONNECT_TIMEOUT_MS,
        clientProperties: { connection_name: this.target.clientName },
      });
      if (this.closed) {
        await model.close().catch(() => undefined);
        throw new ProviderError('TEMPORARY', `${this.target.display}: the link is closed`);
      }
      this.failures = 0;
      this.retryAt = 0;
      model.on('error', (error: Error) =>
        this.logger.warn(
          `connection ${this.target.connectionId} to ${this.target.display}: ${error.message}`,
        ),
      );
      model.on('close', () => this.lost(model));
      this.model = model;
      return model;
    } catch (error) {
      this.failed();
      throw classifyAmqpError(error, this.target.display);
    }
  }

  private lost(model: ChannelModel): void {
    if (this.model !== model) return;
    this.model = null;
    this.confirm = null;
    this.knownExchanges.clear();
    if (this.closed) return;
    // A broker that went away is most likely still away: wait before the first reconnect too.
    this.failed();
    this.logger.warn(
      `connection ${this.target.connectionId} to ${this.target.display} was lost; reconnecting in ${Math.ceil(this.waitBeforeConnect() / 1000)} s`,
    );
    for (const listener of [...this.lostListeners]) listener();
  }

  private failed(): void {
    this.failures++;
    this.retryAt = this.now() + reconnectDelay(this.failures);
  }

  private returned(message: Message): void {
    const messageId = (message.properties as { messageId?: unknown }).messageId;
    if (typeof messageId !== 'string') return;
    for (const listener of [...(this.returnListeners.get(messageId) ?? [])]) listener(message);
  }

  private channelError(error: Error): void {
    const code = (error as { code?: unknown }).code;
    if (code === 404) this.knownExchanges.clear();
    this.logger.warn(`confirm channel of connection ${this.target.connectionId}: ${error.message}`);
  }
}
