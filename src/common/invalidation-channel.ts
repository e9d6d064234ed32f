import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/**
 * The Redis channel on which the processes of one installation tell each other which entries of
 * a process-local cache their writes made stale (records, connections). `hearing` says whether
 * this process hears every write: alone (`hearsAlone`, as on SQLite) or while subscribed. Writes
 * missed while the subscription was down are unknown, so the cache is told to start again empty
 * (`onGap`) when it drops and when it comes back.
 */
export class InvalidationChannel {
  private readonly logger: Logger;
  private publisher: Redis | undefined;
  private subscriber: Redis | undefined;
  hearing: boolean;

  /** `what`: the cached things, in plural, as log lines name them. */
  constructor(
    private readonly name: string,
    private readonly what: string,
    hearsAlone: boolean,
    private readonly on: { stale: (key: string) => void; gap: () => void },
  ) {
    this.logger = new Logger(`${what} cache`);
    this.hearing = hearsAlone;
  }

  /** Subscribes when there is Redis (`url`); without it the channel stays silent. */
  async open(url: string | undefined): Promise<void> {
    if (!url) return;
    this.publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    // A failed publish is logged where it happens; the connection's own errors must not go unheard.
    this.publisher.on('error', (error: Error) => this.logger.debug(`publisher: ${error.message}`));
    const subscriber = (this.subscriber = new Redis(url, { lazyConnect: true }));
    subscriber.on('message', (_channel: string, key: string) => this.on.stale(key));
    subscriber.on('close', () => {
      this.hearing = false;
      this.on.gap();
    });
    subscriber.on('ready', () => {
      this.on.gap();
      this.hearing = true;
    });
    subscriber.on('error', (error: Error) => this.logger.warn(`channel: ${error.message}`));
    try {
      await subscriber.connect();
      await subscriber.subscribe(this.name);
      this.hearing = true;
    } catch (error) {
      this.logger.warn(`${this.what} are not cached until Redis answers: ${(error as Error).message}`);
    }
  }

  /** Tells the other processes that `key` is stale. */
  publish(key: string): void {
    this.publisher
      ?.publish(this.name, key)
      .catch((error: Error) =>
        this.logger.warn(`could not tell other processes of a write: ${error.message}`),
      );
  }

  close(): void {
    this.hearing = false;
    for (const client of [this.subscriber, this.publisher]) client?.disconnect();
  }
}
