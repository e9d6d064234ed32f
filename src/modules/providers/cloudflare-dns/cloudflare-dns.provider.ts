import { Injectable } from '@nestjs/common';
import { secretsOf } from '../credentials.js';
import { authHeaders } from '../http/http.provider.js';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import type { HttpMethod, PartnerRequest, PartnerResponse, QueryValue } from '../http/partner-http.client.js';
import { ProviderError, bodyExcerpt } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, ProviderConnection } from '../provider.decorator.js';
import type { DnsDriver, DriverContext } from '../provisioning-drivers.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';

export const CLOUDFLARE_DNS_PROVIDER_KEY = 'cloudflare-dns';
/** Where Cloudflare's API is, unless a connection's `apiBaseUrl` says otherwise (a test fake). */
export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

/** A connection's config for the `cloudflare-dns` provider. */
export interface CloudflareDnsConfig {
  zoneId: string;
  apiBaseUrl?: string;
  /** Whether records go through Cloudflare's proxy (orange cloud); default false. */
  proxied?: boolean;
  /** Seconds; 1 is Cloudflare's "automatic", the default. */
  ttl?: number;
}

const CLOUDFLARE_DNS_CONFIG_SCHEMA = {
  type: 'object',
  required: ['zoneId'],
  additionalProperties: false,
  properties: {
    zoneId: {
      type: 'string',
      pattern: '^[0-9a-fA-F]{32}$',
      description:
        "The zone's id (32 hex digits), shown on the zone's Overview page in Cloudflare's dashboard",
    },
    apiBaseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^?#]*$',
      maxLength: 2000,
      description: `Cloudflare's API; ${CLOUDFLARE_API} unless set`,
    },
    proxied: {
      type: 'boolean',
      description: "Send the records' traffic through Cloudflare's proxy; default false (DNS only)",
    },
    ttl: {
      type: 'integer',
      anyOf: [{ const: 1 }, { minimum: 60, maximum: 86400 }],
      description: 'Seconds, 60 to 86400, or 1 for automatic (the default)',
    },
    rateLimit: RATE_LIMIT_SCHEMA,
  },
};

const AUTOMATIC_TTL = 1;
/** Records asked for per page of a lookup; one name has one CNAME, so one page is the rule. */
const PER_PAGE = 100;
/** A lookup stops here, so a `total_pages` that never ends cannot keep a flow going. */
const MAX_PAGES = 50;
/**
 * Cloudflare's codes for a name another record already holds: 81053 "An A, AAAA, or CNAME record
 * with that host already exists", 81054 "A CNAME record with that host already exists" (see its
 * "Records with same name" troubleshooting page). A CNAME cannot share its name with other records.
 */
const NAME_TAKEN_CODES = new Set([81053, 81054]);

/** A DNS record as Cloudflare's API returns it (the fields the driver reads). */
interface CloudflareRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  proxied?: boolean;
  ttl?: number;
}

/** What a create or a replace sends. */
interface CnameBody {
  type: 'CNAME';
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
}

/** Cloudflare's envelope around every answer. */
interface CloudflareEnvelope {
  success?: unknown;
  errors?: unknown;
  result?: unknown;
  result_info?: { total_pages?: unknown } | null;
}

/**
 * Cloudflare DNS (API v4) as a DNS driver: CNAMEs in one zone. An upsert looks the name up among
 * the zone's CNAMEs and creates, replaces or leaves the record, so running it twice changes nothing;
 * a delete removes every CNAME of the name and succeeds when there is none. The credential is an
 * API token with the zone's DNS edit permission, sent as `Authorization: Bearer`. Cloudflare's own
 * error codes and messages (`errors` of its envelope) go into every failure's message.
 */
@Injectable()
@Provider({
  key: CLOUDFLARE_DNS_PROVIDER_KEY,
  title: 'Cloudflare DNS',
  kinds: ['dns'],
  configSchema: CLOUDFLARE_DNS_CONFIG_SCHEMA,
  credentialTypes: ['bearer'],
  capabilities: ['dns'],
  // Cloudflare's global API limit: 1200 requests per five minutes for a user's tokens.
  rateLimit: { requests: 1200, perMs: 300_000 },
})
export class CloudflareDnsProvider implements ConnectionProvider, DnsDriver {
  constructor(private readonly http: PartnerHttpClient) {}

  /** The zone must be readable with the token: that proves both the token and the zone id. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    await call(connection, (request) => this.http.request({ ...request, signal }), 'GET', '');
  }

  async dnsUpsertCname(ctx: DriverContext, name: string, target: string): Promise<void> {
    const config = configOf(ctx.connection);
    const wanted: CnameBody = {
      type: 'CNAME',
      name: normalName(name),
      content: normalName(target),
      ttl: config.ttl ?? AUTOMATIC_TTL,
      proxied: config.proxied ?? false,
    };
    const found = await this.cnames(ctx, wanted.name);
    const current = found.find((record) => normalName(record.content) === wanted.content) ?? found[0];
    if (!current) {
      await this.create(ctx, wanted);
      await ctx.log(`cloudflare-dns: created CNAME ${wanted.name} -> ${wanted.content}`);
    } else if (upToDate(current, wanted)) {
      await ctx.log(`cloudflare-dns: CNAME ${wanted.name} -> ${wanted.content} is already there`);
    } else {
      await send(ctx, 'PUT', `/dns_records/${encodeURIComponent(current.id)}`, { body: wanted });
      await ctx.log(
        `cloudflare-dns: changed CNAME ${wanted.name} from ${current.content} to ${wanted.content}`,
      );
    }
  }

  async dnsDeleteCname(ctx: DriverContext, name: string): Promise<void> {
    const wanted = normalName(name);
    const found = await this.cnames(ctx, wanted);
    for (const record of found) {
      try {
        await send(ctx, 'DELETE', `/dns_records/${encodeURIComponent(record.id)}`);
      } catch (error) {
        // Gone since the lookup (another flow, or a person): what the delete wanted.
        if (!(error instanceof ProviderError && error.code === 'NOT_FOUND')) throw error;
      }
    }
    await ctx.log(
      found.length > 0
        ? `cloudflare-dns: deleted CNAME ${wanted}`
        : `cloudflare-dns: no CNAME ${wanted} to delete`,
    );
  }

  /** A POST; a name another record holds becomes a PERMANENT error that says which records hold it. */
  private async create(ctx: DriverContext, record: CnameBody): Promise<void> {
    try {
      await send(ctx, 'POST', '/dns_records', { body: record });
    } catch (error) {
      if (!nameTaken(error)) throw error;
      const holders = (await this.records(ctx, record.name, null)).filter((held) => held.type !== 'CNAME');
      const what = holders.length
        ? holders.map((held) => `${held.type} ${held.content}`).join(', ')
        : 'another record';
      throw new ProviderError(
        'PERMANENT',
        `cannot make ${record.name} a CNAME: the zone already has ${what} for that name, and a CNAME cannot ` +
          `share its name; remove that record or choose another name (${error.message})`,
        { status: error.status },
      );
    }
  }

  private cnames(ctx: DriverContext, name: string): Promise<CloudflareRecord[]> {
    return this.records(ctx, name, 'CNAME');
  }

  /** The zone's records named exactly `name` (of `type`, unless null), following every page. */
  private async records(ctx: DriverContext, name: string, type: string | null): Promise<CloudflareRecord[]> {
    const records: CloudflareRecord[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES)
        throw new ProviderError('PERMANENT', `the records named ${name} went on past ${MAX_PAGES} pages`);
      const envelope = await send(ctx, 'GET', '/dns_records', {
        query: { type, 'name.exact': name, page, per_page: PER_PAGE },
      });
      if (!Array.isArray(envelope.result))
        throw new ProviderError(
          'PERMANENT',
          `Cloudflare listed the records named ${name} without a result list`,
        );
      // The filter is Cloudflare's; comparing again keeps a looser match from being changed.
      records.push(
        ...(envelope.result as CloudflareRecord[]).filter(
          (record) => typeof record.id === 'string' && normalName(record.name ?? '') === name,
        ),
      );
      const totalPages = envelope.result_info?.total_pages;
      if (typeof totalPages !== 'number' || page >= totalPages) return records;
    }
  }
}

/** One call under the connection's zone through the driver context's budgeted partner calls. */
function send(
  ctx: DriverContext,
  method: HttpMethod,
  path: string,
  options: { query?: Record<string, QueryValue>; body?: object } = {},
): Promise<CloudflareEnvelope> {
  return call(ctx.connection, (request) => ctx.request(request), method, path, options);
}

/**
 * `method` on `<apiBaseUrl>/zones/<zoneId><path>`, answered in Cloudflare's envelope. An error
 * answer is rethrown with the same code (the shared classification: 429 RATE_LIMITED, 401/403 AUTH,
 * 5xx TEMPORARY, other 4xx PERMANENT) and Cloudflare's errors in its message; a 2xx that says
 * `success: false` is PERMANENT.
 */
async function call(
  connection: ProviderConnection,
  request: (request: PartnerRequest) => Promise<PartnerResponse>,
  method: HttpMethod,
  path: string,
  options: { query?: Record<string, QueryValue>; body?: object } = {},
): Promise<CloudflareEnvelope> {
  const config = configOf(connection);
  const secrets = secretsOf(connection.credentials);
  const shown = `${method} /zones/${config.zoneId}${path}`;
  let response: PartnerResponse;
  try {
    response = await request({
      method,
      url: `${(config.apiBaseUrl ?? CLOUDFLARE_API).replace(/\/+$/, '')}/zones/${encodeURIComponent(config.zoneId)}${path}`,
      headers: { accept: 'application/json', ...authHeaders(connection.credentials) },
      query: options.query,
      body: options.body,
      secrets,
    });
  } catch (error) {
    if (!(error instanceof ProviderError) || error.responseText === undefined) throw error;
    const errors = errorsOf(parse(error.responseText), secrets);
    if (!errors) throw error;
    throw new ProviderError(error.code, `Cloudflare refused ${shown} with ${error.status}: ${errors}`, {
      status: error.status,
      retryAfterMs: error.retryAfterMs,
      responseText: error.responseText,
      cause: error,
    });
  }
  const envelope = response.body as CloudflareEnvelope | null;
  if (typeof envelope !== 'object' || envelope === null || envelope.success !== true) {
    const errors = typeof envelope === 'object' && envelope !== null ? errorsOf(envelope, secrets) : null;
    throw new ProviderError(
      'PERMANENT',
      `Cloudflare did not succeed at ${shown} (${response.status}): ${errors ?? 'no errors given'}`,
      { status: response.status },
    );
  }
  return envelope;
}

/** Cloudflare's `errors` as `[code] message; ...`, masked and short; null when it gave none. */
function errorsOf(envelope: unknown, secrets: readonly string[]): string | null {
  const errors = (envelope as CloudflareEnvelope | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  const text = (errors as { code?: unknown; message?: unknown }[])
    .map((error) => `[${String(error.code)}] ${String(error.message)}`)
    .join('; ');
  return bodyExcerpt(text, 'text/plain', secrets);
}

/** Whether Cloudflare refused a create because another record holds the name (from the body the HTTP client kept). */
function nameTaken(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError)) return false;
  const errors = (parse(error.responseText ?? '') as CloudflareEnvelope | null)?.errors;
  return (
    Array.isArray(errors) &&
    (errors as { code?: unknown }[]).some(
      (entry) => typeof entry.code === 'number' && NAME_TAKEN_CODES.has(entry.code),
    )
  );
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** DNS names are case-insensitive, and Cloudflare gives them without the root's trailing dot. */
function normalName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/**
 * Whether a record already says what the connection asks for. Cloudflare keeps a proxied record's
 * TTL automatic whatever was sent, so the TTL only counts for records that are not proxied.
 */
function upToDate(record: CloudflareRecord, wanted: CnameBody): boolean {
  return (
    normalName(record.content) === wanted.content &&
    (record.proxied ?? false) === wanted.proxied &&
    (wanted.proxied || record.ttl === wanted.ttl)
  );
}

function configOf(connection: ProviderConnection): CloudflareDnsConfig {
  return connection.config as unknown as CloudflareDnsConfig;
}
