import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { ProviderConnection } from '../provider.decorator.js';
import { connectOptions, displayUrl } from './amqp-broker.js';
import type { AmqpConfig } from './amqp-broker.js';
import { AmqpLink } from './amqp-link.js';

/**
 * The process's broker links, one per `amqp` connection, shared by its publishes and its consumer.
 * A connection whose URL or credentials changed gets a new link; the old one is closed.
 */
@Injectable()
export class AmqpLinks implements OnApplicationShutdown {
  private readonly links = new Map<string, { fingerprint: string; link: AmqpLink }>();

  /** The link for the connection as it is now. */
  linkFor(connection: ProviderConnection, name: string): AmqpLink {
    const config = connection.config as unknown as AmqpConfig;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([config.url, connection.credentials]))
      .digest('hex');
    const known = this.links.get(connection.id);
    if (known?.fingerprint === fingerprint) return known.link;
    if (known) void known.link.close();
    const { url, clientName } = connectOptions(config, connection.credentials);
    const link = new AmqpLink({
      connectionId: connection.id,
      display: displayUrl(config.url),
      options: url,
      clientName: `junction ${name} (${connection.id}) ${clientName}`,
    });
    this.links.set(connection.id, { fingerprint, link });
    return link;
  }

  /** Closes a connection's link (deleted, say); the next use opens a new one. */
  async drop(connectionId: string): Promise<void> {
    const known = this.links.get(connectionId);
    this.links.delete(connectionId);
    await known?.link.close();
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.links.values()];
    this.links.clear();
    await Promise.all(all.map(({ link }) => link.close()));
  }
}
