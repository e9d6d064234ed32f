import type { Options } from 'amqplib';
import { ProviderError } from '../http/provider-error.js';
import type { ProviderErrorCode } from '../http/provider-error.js';
import type { OpenedCredentials } from '../provider.decorator.js';

/** What an `amqp` connection's config says about the broker, as its schema allows it. */
export interface AmqpConfig {
  /** `amqp://host:5672/vhost` (or `amqps://`); the user and password go in the credentials. */
  url: string;
  /** The exchange `amqp.publish` uses when its payload names none. */
  exchange?: string;
  /** A queue every worker process consumes, each message becoming an event. */
  consume?: AmqpConsume;
  rateLimit?: { requests: number; perMs: number };
}

export interface AmqpConsume {
  queue: string;
  /** The events' name; else the message's `type` property, else its routing key. */
  eventName?: string;
  /** The events' source; `connection:<id>` by default. */
  source?: string;
  /** Unacknowledged messages the broker may hand one process at once. */
  prefetch?: number;
}

/** How long opening a connection may take before it counts as failed. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The options amqplib connects with: the URL's parts, the credentials beside them (never inside a
 * URL, so no URL Junction logs carries a password), and a name the broker's tools show.
 */
export function connectOptions(
  config: AmqpConfig,
  credentials: OpenedCredentials,
): { url: Options.Connect; clientName: string } {
  const url = new URL(config.url);
  const vhost = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/';
  const heartbeat = Number(url.searchParams.get('heartbeat') ?? 30);
  return {
    url: {
      protocol: url.protocol.slice(0, -1),
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (url.protocol === 'amqps:' ? 5671 : 5672) : Number(url.port),
      vhost,
      heartbeat: Number.isFinite(heartbeat) ? heartbeat : 30,
      ...(credentials.type === 'basic'
        ? { username: credentials.username, password: credentials.password }
        : {}),
    },
    clientName: displayUrl(config.url),
  };
}

/** The broker URL as logs and errors show it: no user or password, even if someone wrote them in. */
export function displayUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.href;
  } catch {
    return 'an unreadable broker URL';
  }
}

/**
 * An amqplib error as the job engine reads it. The broker's refusals carry AMQP reply codes (on
 * `code`, or in the handshake's message): 403 ACCESS_REFUSED is AUTH, 404 NOT_FOUND is NOT_FOUND,
 * 530 NOT_ALLOWED (no such vhost, or no access to it) and other 4xx-like refusals are PERMANENT;
 * a socket that would not open or dropped, a closed channel, a nack or a broker closing down
 * (320) is TEMPORARY.
 */
export function classifyAmqpError(error: unknown, where: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = replyCode(error, message);
  return new ProviderError(codeOf(code), `${where}: ${oneLine(message)}`, { cause: error });
}

function replyCode(error: unknown, message: string): number | null {
  const own = (error as { code?: unknown } | null)?.code;
  if (typeof own === 'number') return own;
  const inMessage = /\b(\d{3}) \([A-Z_-]+\)/.exec(message);
  return inMessage ? Number(inMessage[1]) : null;
}

function codeOf(replyCode: number | null): ProviderErrorCode {
  if (replyCode === null) return 'TEMPORARY';
  switch (replyCode) {
    case 403:
      return 'AUTH';
    case 404:
      return 'NOT_FOUND';
    case 402: // INVALID_PATH
    case 405: // RESOURCE_LOCKED (an exclusive queue)
    case 406: // PRECONDITION_FAILED (a queue declared with other arguments)
    case 530:
      return 'PERMANENT';
    default:
      return 'TEMPORARY';
  }
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}
