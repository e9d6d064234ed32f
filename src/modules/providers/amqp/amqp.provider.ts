import { Injectable } from '@nestjs/common';
import amqp from 'amqplib';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { isEventName } from '../../events/events.contract.js';
import type { CredentialType } from '../credentials.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, ProviderConnection } from '../provider.decorator.js';
import {
  amqpNameProblem,
  classifyAmqpError,
  connectOptions,
  CONNECT_TIMEOUT_MS,
  displayUrl,
} from './amqp-broker.js';
import type { AmqpConfig } from './amqp-broker.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';

export const AMQP_PROVIDER_KEY = 'amqp';
export const DEFAULT_PREFETCH = 50;

/** An exchange or queue name as AMQP 0-9-1 allows it (up to 255 bytes: `validate` counts them). */
const AMQP_NAME = { type: 'string', maxLength: 255, pattern: '^[^\\u0000-\\u001f]*$' };

const AMQP_CONFIG_SCHEMA = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      pattern: '^amqps?://',
      maxLength: 2000,
      description:
        'The broker, with its vhost: amqp://rabbit.internal:5672/orders. The user and password go in the credentials.',
      examples: ['amqp://127.0.0.1:5672/%2F'],
    },
    exchange: {
      ...AMQP_NAME,
      description: 'Where amqp.publish sends when its payload names no exchange ("" is the default exchange)',
    },
    consume: {
      type: 'object',
      required: ['queue'],
      additionalProperties: false,
      description: 'A queue every worker process consumes; each message becomes an event',
      properties: {
        queue: {
          ...AMQP_NAME,
          minLength: 1,
          description: 'The queue, declared by its owner (with its dead-letter exchange)',
        },
        eventName: {
          type: 'string',
          maxLength: 200,
          description: 'The events’ name; by default the message’s type property, else its routing key',
        },
        source: {
          type: 'string',
          minLength: 1,
          maxLength: 200,
          description: 'The events’ source; by default connection:<id>',
        },
        prefetch: {
          type: 'integer',
          minimum: 1,
          maximum: 1000,
          default: DEFAULT_PREFETCH,
          description: 'Messages a process holds unacknowledged at once',
        },
      },
    },
    rateLimit: {
      ...RATE_LIMIT_SCHEMA,
      description: 'Publishes allowed, shared by every job that uses the connection; none by default',
    },
  },
};

const CREDENTIAL_TYPES: CredentialType[] = ['basic', 'none'];

/**
 * The built-in provider for a RabbitMQ (AMQP 0-9-1) broker: `amqp.publish` jobs send events to
 * it, and a connection with `consume` turns a queue's messages into events.
 */
@Injectable()
@Provider({
  key: AMQP_PROVIDER_KEY,
  title: 'RabbitMQ (AMQP 0-9-1) broker',
  kinds: ['bus'],
  configSchema: AMQP_CONFIG_SCHEMA,
  credentialTypes: CREDENTIAL_TYPES,
  capabilities: [],
})
export class AmqpProvider implements ConnectionProvider {
  /** A user or password in the URL is refused for every provider's config (the registry checks it). */
  validate(config: Record<string, unknown>): SchemaViolation[] {
    const { url, exchange, consume } = config as unknown as AmqpConfig;
    const problems: SchemaViolation[] = [];
    if (!URL.canParse(url)) problems.push({ path: '/config/url', message: 'is not a URL' });
    // The schema counts characters; the broker counts bytes, and a longer name could never be used.
    for (const [path, name] of [
      ['/config/exchange', exchange],
      ['/config/consume/queue', consume?.queue],
    ] as const) {
      const problem = typeof name === 'string' ? amqpNameProblem(name) : null;
      if (problem) problems.push({ path, message: problem });
    }
    if (consume?.eventName !== undefined && !isEventName(consume.eventName)) {
      problems.push({
        path: '/config/consume/eventName',
        message: `"${consume.eventName}" is not an event name`,
      });
    }
    return problems;
  }

  /**
   * Opens a connection of its own and closes it again; with `consume`, also checks that the
   * queue exists, and with `exchange`, that the exchange does.
   */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const config = connection.config as unknown as AmqpConfig;
    const where = displayUrl(config.url);
    const { url } = connectOptions(config, connection.credentials);
    signal.throwIfAborted();
    let model: amqp.ChannelModel;
    try {
      model = await amqp.connect(url, { timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      throw classifyAmqpError(error, where);
    }
    model.on('error', () => undefined);
    try {
      if (config.consume) {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        await channel.checkQueue(config.consume.queue).catch((error: unknown) => {
          throw classifyAmqpError(error, `${where}: queue "${config.consume?.queue}"`);
        });
        await channel.close().catch(() => undefined);
      }
      if (config.exchange) {
        const channel = await model.createChannel();
        channel.on('error', () => undefined);
        await channel.checkExchange(config.exchange).catch((error: unknown) => {
          throw classifyAmqpError(error, `${where}: exchange "${config.exchange}"`);
        });
        await channel.close().catch(() => undefined);
      }
    } finally {
      await model.close().catch(() => undefined);
    }
  }
}
