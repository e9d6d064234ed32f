import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { renderTemplate, renderText, templateProblems, valueAt } from '../../../common/template.js';
import { isEventName } from '../../events/events.contract.js';
import { cronProblems } from '../../schedules/schedules.contract.js';
import { secretsOf } from '../credentials.js';
import type { CredentialType } from '../credentials.js';
import { Provider } from '../provider.decorator.js';
import type {
  ConnectionProvider,
  ConnectionSchedule,
  OpenedCredentials,
  ProviderConnection,
  RateLimit,
  SyncReadContext,
  SyncRecord,
} from '../provider.decorator.js';
import { later, queryOf, tokenOf } from './paging.js';
import { PartnerHttpClient } from './partner-http.client.js';
import { ProviderError } from './provider-error.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';

export const HTTP_PROVIDER_KEY = 'http';
export const HTTP_POLL_JOB_TYPE = 'http.poll';

/** One request an `http` connection can send; its strings are `{{input.x}}` templates. */
export interface HttpAction {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to baseUrl, starting with `/`. */
  path: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: unknown;
  /** A header that carries a key which stays the same across the retries of one job. */
  idempotencyHeader?: string;
}

/** A paged GET and where its items, their ids and the cursor are: what pollers and streams share. */
interface PagedGet {
  /** Relative to baseUrl, starting with `/`. */
  path: string;
  /** A parameter whose value comes out empty (no cursor yet) is left out. */
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Where the list of items is in the answer (`data.shipments`); empty for the answer itself. */
  items: string;
  /** Each item's id (a dotted path inside the item). */
  id: string;
  /** The item field whose largest value is the cursor, such as `updated_at`. */
  cursor?: string;
  /** A partner that pages: the answer's next-page token (`from`) goes into the query parameter `param`. */
  nextPage?: { from: string; param: string };
}

/**
 * A GET a connection repeats on a clock, each new or changed item becoming an event. Its strings
 * are `{{cursor}}` templates: the cursor is the largest `cursor` field of the items read so far.
 */
export interface HttpPoller extends PagedGet {
  /** The event each new or changed item becomes. */
  event: string;
  /** When it polls: 5 fields (minute first) or 6 (second first), read in UTC. */
  cron: string;
}

/**
 * A paged GET a sync reads one content type from (the stream's name is the type). Its strings are
 * templates of `{{cursor}}`, the checkpoint the run started from, and `{{from}}` and `{{to}}`, the
 * ISO times of the date range the connection's settings choose for the type (a parameter that
 * comes out empty is left out); `cursorParam` sends the cursor as that query parameter. Pages must come oldest first by `cursor`, so that a run killed
 * midway resumes from the last page stored.
 */
export interface HttpStream extends PagedGet {
  /** The query parameter that carries the checkpoint, when the run has one. */
  cursorParam?: string;
  /** Item fields (dotted paths) that status views show. */
  title?: string;
  filename?: string;
  thumbnailUrl?: string;
  size?: string;
  /**
   * The item field (a dotted path) holding the URL of its content, absolute or a path under
   * baseUrl; fetched with the connection's credentials when its settings name a storage.
   */
  content?: string;
}

/** A connection's config for the `http` provider, as its schema allows it. */
export interface HttpConfig {
  baseUrl: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** What the connection test GETs, relative to baseUrl; baseUrl itself by default. */
  checkPath?: string;
  /** The partner's limit, instead of the provider's 10 calls per second. */
  rateLimit?: RateLimit;
  actions?: Record<string, HttpAction>;
  pollers?: Record<string, HttpPoller>;
  streams?: Record<string, HttpStream>;
}

const ACTION_SCHEMA = {
  type: 'object',
  required: ['method', 'path'],
  additionalProperties: false,
  properties: {
    method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    path: { type: 'string', pattern: '^/', maxLength: 2000 },
    query: { type: 'object' },
    headers: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } },
    body: {},
    idempotencyHeader: { type: 'string', pattern: '^[A-Za-z0-9-]{1,100}$' },
  },
};

/** A dotted path into a JSON value, such as `data.shipments`. */
const DOTTED_PATH = '^[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*$';

/** What a poller and a stream share: a paged GET and where its items, ids and cursor are. */
const PAGED_GET_PROPERTIES = {
  path: { type: 'string', pattern: '^/', maxLength: 2000 },
  query: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  headers: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } },
  items: { type: 'string', pattern: `^(${DOTTED_PATH.slice(1, -1)})?$`, maxLength: 200 },
  id: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
  cursor: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
  nextPage: {
    type: 'object',
    required: ['from', 'param'],
    additionalProperties: false,
    properties: {
      from: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
      param: { type: 'string', minLength: 1, maxLength: 100 },
    },
  },
};

const POLLER_SCHEMA = {
  type: 'object',
  required: ['path', 'items', 'id', 'event', 'cron'],
  additionalProperties: false,
  properties: {
    ...PAGED_GET_PROPERTIES,
    event: { type: 'string', maxLength: 200 },
    cron: { type: 'string', maxLength: 100 },
  },
};

const STREAM_SCHEMA = {
  type: 'object',
  required: ['path', 'items', 'id'],
  additionalProperties: false,
  properties: {
    ...PAGED_GET_PROPERTIES,
    cursorParam: { type: 'string', minLength: 1, maxLength: 100 },
    title: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
    filename: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
    thumbnailUrl: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
    size: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
    content: { type: 'string', pattern: DOTTED_PATH, maxLength: 200 },
  },
};

const HTTP_CONFIG_SCHEMA = {
  type: 'object',
  required: ['baseUrl'],
  additionalProperties: false,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'The partner API’s base URL',
    },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 4096 },
      description: 'Sent with every call; put secrets in the credentials instead',
    },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 120_000, default: 10_000 },
    checkPath: { type: 'string', pattern: '^/', maxLength: 2000 },
    rateLimit: RATE_LIMIT_SCHEMA,
    actions: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,100}$' },
      additionalProperties: ACTION_SCHEMA,
    },
    pollers: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,100}$' },
      additionalProperties: POLLER_SCHEMA,
    },
    streams: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9]+([_-][a-z0-9]+)*$', maxLength: 100 },
      additionalProperties: STREAM_SCHEMA,
      description: 'Content types a sync reads, each a paged GET (the key is the type)',
    },
  },
};

const CREDENTIAL_TYPES: CredentialType[] = ['none', 'api_key', 'bearer', 'basic'];
/** An item's content is fetched up to this size. */
const MAX_CONTENT_BYTES = 100 * 1024 * 1024;

/**
 * Headers whose value is a credential. Config is stored and shown as it is, so a fixed value of
 * one there would be in every answer about the connection; it belongs in the sealed credentials
 * (`bearer`, or `api_key` with that header). A template (`{{input.token}}`) holds no secret itself.
 */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
]);

function credentialHeaderProblems(
  at: string,
  headers: Record<string, unknown> | undefined,
): SchemaViolation[] {
  return Object.entries(headers ?? {})
    .filter(([name, value]) => CREDENTIAL_HEADERS.has(name.toLowerCase()) && !String(value).includes('{{'))
    .map(([name]) => ({
      path: `${at}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      message: `would be shown with the config; give it as the connection’s credentials (bearer, or api_key with header ${name})`,
    }));
}

/** The built-in provider for any REST partner, configured instead of coded. */
@Injectable()
@Provider({
  key: HTTP_PROVIDER_KEY,
  title: 'Any REST partner',
  kinds: ['rest'],
  configSchema: HTTP_CONFIG_SCHEMA,
  credentialTypes: CREDENTIAL_TYPES,
  capabilities: ['actions', 'pollers', 'sync'],
  // A connection's config.rateLimit overrides it, for a partner that allows more or fewer.
  rateLimit: { requests: 10, perMs: 1000 },
})
export class HttpProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

  /**
   * Action templates may read only the job's `input` (`{{input.orderId}}`), poller templates only
   * the `cursor`, stream templates the `cursor`, `from` and `to`; a poller's event must be an
   * event name and its cron must fire.
   */
  validate(config: Record<string, unknown>): SchemaViolation[] {
    const { actions = {}, pollers = {}, streams = {} } = config as unknown as HttpConfig;
    const templates = (at: string, parts: Record<string, unknown>, roots: string[]): SchemaViolation[] =>
      Object.entries(parts).flatMap(([part, template]) =>
        templateProblems(template, roots).map((message) => ({ path: `${at}/${part}`, message })),
      );
    return [
      ...credentialHeaderProblems('/config', (config as unknown as HttpConfig).headers),
      ...[
        ...Object.entries(actions).map(
          ([name, { headers }]) => [`/config/actions/${name}`, headers] as const,
        ),
        ...Object.entries(pollers).map(
          ([name, { headers }]) => [`/config/pollers/${name}`, headers] as const,
        ),
        ...Object.entries(streams).map(
          ([name, { headers }]) => [`/config/streams/${name}`, headers] as const,
        ),
      ].flatMap(([at, headers]) => credentialHeaderProblems(at, headers)),
      ...Object.entries(actions).flatMap(([name, { path, query, headers, body }]) =>
        templates(`/config/actions/${name}`, { path, query, headers, body }, ['input']),
      ),
      ...Object.entries(pollers).flatMap(([name, poller]) => [
        ...templates(
          `/config/pollers/${name}`,
          { path: poller.path, query: poller.query, headers: poller.headers },
          ['cursor'],
        ),
        ...(isEventName(poller.event)
          ? []
          : [{ path: `/config/pollers/${name}/event`, message: `"${poller.event}" is not an event name` }]),
        ...cronProblems(poller.cron).map((message) => ({ path: `/config/pollers/${name}/cron`, message })),
      ]),
      ...Object.entries(streams).flatMap(([name, { path, query, headers }]) =>
        templates(`/config/streams/${name}`, { path, query, headers }, ['cursor', 'from', 'to']),
      ),
    ];
  }

  /** Its streams are the content types a sync of it reads. */
  syncTypes(connection: { config: Record<string, unknown> }): string[] {
    return Object.keys((connection.config as unknown as HttpConfig).streams ?? {});
  }

  /**
   * Reads a stream page by page; each page is stored with the largest cursor read so far and the
   * next page's token. A run cut short goes on at that page, with the query its earlier pages had.
   */
  async read(ctx: SyncReadContext): Promise<void> {
    const config = ctx.connection.config as unknown as HttpConfig;
    const stream = config.streams?.[ctx.type];
    if (!stream) throw new ProviderError('PERMANENT', `the connection has no stream ${ctx.type}`);
    // A run cut short asks for the page it had not read with the query its earlier pages had.
    const resume = stream.nextPage ? ctx.resume : undefined;
    const since = resume ? resume.cursor : ctx.cursor;
    const scope = {
      cursor: since,
      from: ctx.range.from?.toISOString() ?? null,
      to: ctx.range.to?.toISOString() ?? null,
    };
    const query = queryOf(stream.query === undefined ? {} : renderTemplate(stream.query, scope));
    if (stream.cursorParam && since !== null) query[stream.cursorParam] = since;
    const what = `stream ${ctx.type}`;
    const headers: Record<string, string> = {
      ...config.headers,
      ...renderHeaders(stream.headers ?? {}, scope, what),
      ...authHeaders(ctx.connection.credentials),
    };
    // Before the first run the cursor is empty, as it is in the query.
    const url = joinUrl(config.baseUrl, renderPath(stream.path, scope, what, true));
    const page = (token: string | null) =>
      ctx.request({
        method: 'GET',
        url,
        query: token === null ? query : { ...query, [stream.nextPage!.param]: token },
        headers,
        timeoutMs: config.timeoutMs,
      });
    // Content at the partner's own origin is fetched with the connection's headers, anywhere else without.
    const fetchContent = async (at: string): Promise<Buffer> => {
      const target = /^https?:\/\//i.test(at)
        ? at
        : joinUrl(config.baseUrl, at.startsWith('/') ? at : `/${at}`);
      const own = new URL(target).origin === new URL(config.baseUrl).origin;
      const response = await ctx.request({
        method: 'GET',
        url: target,
        headers: own ? headers : {},
        binary: true,
        maxResponseBytes: MAX_CONTENT_BYTES,
        timeoutMs: config.timeoutMs,
      });
      return response.body as Buffer;
    };
    let cursor = ctx.cursor;
    let response = await page(resume?.page ?? null);
    for (;;) {
      const items = stream.items === '' ? response.body : valueAt(response.body, stream.items);
      if (!Array.isArray(items)) {
        throw new ProviderError(
          'PERMANENT',
          `the answer to stream ${ctx.type} has no list at ${stream.items === '' ? 'its top' : stream.items}`,
        );
      }
      ctx.emit(items.map((item: unknown) => recordOf(item, ctx.type, stream, fetchContent)));
      if (stream.cursor !== undefined) {
        for (const item of items) cursor = later(cursor, fieldText(item, stream.cursor));
      }
      const token = stream.nextPage ? tokenOf(valueAt(response.body, stream.nextPage.from)) : null;
      // The next page is asked for while this one is stored; if storing fails, its answer is dropped.
      const next = token === null ? null : page(token);
      next?.catch(() => undefined);
      await ctx.checkpoint(cursor, token);
      if (next === null) return;
      response = await next;
    }
  }

  /** One schedule per poller, firing an `http.poll` job. */
  schedules(connection: { id: string; config: Record<string, unknown> }): ConnectionSchedule[] {
    const { pollers = {} } = connection.config as unknown as HttpConfig;
    return Object.entries(pollers).map(([name, poller]) => ({
      key: `poll:${name}`,
      cron: poller.cron,
      jobType: HTTP_POLL_JOB_TYPE,
      payload: { connectionId: connection.id, poller: name },
    }));
  }

  /** GETs the check path (or the base URL) with the connection's headers and credentials; a 2xx passes. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const config = connection.config as unknown as HttpConfig;
    await this.http.request({
      method: 'GET',
      url: joinUrl(config.baseUrl, config.checkPath ?? ''),
      headers: { ...config.headers, ...authHeaders(connection.credentials) },
      timeoutMs: config.timeoutMs,
      signal,
      secrets: secretsOf(connection.credentials),
    });
  }
}

/** The headers that carry a connection's credentials. */
export function authHeaders(credentials: OpenedCredentials): Record<string, string> {
  switch (credentials.type) {
    case 'api_key':
      return { [credentials.header]: credentials.key };
    case 'bearer':
      return { authorization: `Bearer ${credentials.token}` };
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      };
    case 'oauth2':
      return { authorization: `Bearer ${credentials.accessToken}` };
    case 'none':
    case 'hmac':
      return {};
  }
}

/** A path segment that URLs resolve, `%2e` included: `.` or `..`. */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;
/** What undici refuses in a header value: anything but tab, visible ASCII and the rest of Latin-1. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * A path template rendered over data that comes from outside (an event's input, a partner's
 * cursor): each value is percent-encoded, so it stays within its segment and cannot add segments,
 * a query or a fragment; the template's own text is kept as written. A segment with a value that
 * comes out `.` or `..` would move up the path, and an empty one (a missing value) would name
 * another resource, so both fail `PERMANENT` (empty ones only when `emptyAllowed` is not set).
 */
export function renderPath(
  template: string,
  scope: Record<string, unknown>,
  what: string,
  emptyAllowed = false,
): string {
  const path = renderText(template, scope, encodeSegment) ?? template;
  const written = template.split('/');
  path.split('/').forEach((segment, i) => {
    if (!written[i]?.includes('{{')) return;
    if (DOT_SEGMENT.test(segment) || (segment === '' && !emptyAllowed)) {
      throw new ProviderError(
        'PERMANENT',
        `the path of ${what} comes out ${path}: a {{...}} value in it must not make a segment empty, "." or ".."`,
      );
    }
  });
  return path;
}

/** A value percent-encoded as UTF-8; a lone surrogate (valid in JSON, not in UTF-8) as U+FFFD, as URLs do. */
function encodeSegment(value: string): string {
  return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
}

/**
 * Header values rendered from outside data, checked before the call: a CR, LF, NUL or other
 * control character (which could add a header) fails `PERMANENT` naming the header, instead of
 * undici's nameless UND_ERR_INVALID_ARG.
 */
export function renderHeaders(
  templates: Record<string, string>,
  scope: Record<string, unknown>,
  what: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, template] of Object.entries(templates)) {
    const value = renderText(template, scope) ?? '';
    if (INVALID_HEADER_VALUE.test(value)) {
      throw new ProviderError(
        'PERMANENT',
        `header ${header} of ${what} comes out with a character a header cannot carry (a control character such as CR, LF or NUL, or one beyond Latin-1)`,
      );
    }
    headers[header] = value;
  }
  return headers;
}

/** `path` appended to `base`, with one slash between them. */
export function joinUrl(base: string, path: string): string {
  return path === '' ? base : `${base.replace(/\/+$/, '')}${path}`;
}

/** An item of a stream as a record: its id, its content, and the fields status views show. */
function recordOf(
  item: unknown,
  type: string,
  stream: HttpStream,
  fetchContent: (url: string) => Promise<Buffer>,
): SyncRecord {
  const id = fieldText(item, stream.id);
  if (id === null || id === '')
    throw new ProviderError('PERMANENT', `an item of stream ${type} has no id at ${stream.id}`);
  const size = stream.size === undefined ? null : Number(valueAt(item, stream.size));
  const contentUrl = stream.content === undefined ? null : fieldText(item, stream.content);
  return {
    externalId: id,
    data: item,
    title: stream.title === undefined ? null : fieldText(item, stream.title),
    filename: stream.filename === undefined ? null : fieldText(item, stream.filename),
    thumbnailUrl: stream.thumbnailUrl === undefined ? null : fieldText(item, stream.thumbnailUrl),
    size: size !== null && Number.isFinite(size) ? size : null,
    content: contentUrl ? () => fetchContent(contentUrl) : undefined,
  };
}

/** A string or number field of an item, as text; null when absent or of another kind. */
function fieldText(item: unknown, path: string): string | null {
  const value = valueAt(item, path);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}
