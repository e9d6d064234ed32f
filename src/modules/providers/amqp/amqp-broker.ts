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

/** An exchange, queue or routing key is an AMQP short string: at most 255 bytes of UTF-8, not characters. */
export const AMQP_NAME_MAX_BYTES = 255;

/** Why `name` cannot go in an AMQP short string, or null when it can. */
export function amqpNameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  return bytes > AMQP_NAME_MAX_BYTES
    ? `is ${bytes} bytes of UTF-8; AMQP allows ${AMQP_NAME_MAX_BYTES} bytes`
    : null;
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
  // Left percent-encoded: amqplib decodes the vhost itself, and a name decoded twice ("%2541" to
  // "%41" to "A") would be another vhost.
  const vhost = url.pathname.length > 1 ? url.pathname.slice(1) : '/';
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
  if (VHOST_REFUSED.test(message)) {
    return new ProviderError(
      codeOf(530),
      `${where}: the broker refused the virtual host (it does not exist, or the user may not use it)`,
      { cause: error },
    );
  }
  const code = replyCode(error, message);
  return new ProviderError(codeOf(code), `${where}: ${oneLine(message)}`, { cause: error });
}

/**
 * amqplib's words when the broker answers connection.open with a close: the broker refuses the
 * vhost there and only there (530 NOT_ALLOWED), and amqplib keeps no reply code to read.
 */
const VHOST_REFUSED = /^Expected ConnectionOpenOk; got <ConnectionClose\b/;

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
