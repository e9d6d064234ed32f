import { Injectable } from '@nestjs/common';
import { XMLParser } from 'fast-xml-parser';
import { secretsOf } from '../credentials.js';
import { authHeaders } from '../http/http.provider.js';
import { maskUrl } from '../http/mask-url.js';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import type { PartnerRequest, PartnerResponse } from '../http/partner-http.client.js';
import { ProviderError } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type {
  ConnectionProvider,
  ProviderConnection,
  RateLimit,
  StorageContext,
  StorageUsage,
  StoredFile,
} from '../provider.decorator.js';
import { storagePath, storagePathProblem } from '../storage/storage-path.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';

export const WEBDAV_PROVIDER_KEY = 'webdav';

/** A connection's config for the `webdav` provider. */
export interface WebdavConfig {
  /** The collection everything is stored under. */
  url: string;
  rateLimit?: RateLimit;
}

const WEBDAV_CONFIG_SCHEMA = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^?#]*$',
      maxLength: 2000,
      description: 'The WebDAV collection files are stored under, such as https://dav.example/files/acme/',
    },
    rateLimit: RATE_LIMIT_SCHEMA,
  },
};

/** Files move whole through memory; a larger one is refused rather than read. */
const MAX_FILE_BYTES = 100 * 1024 * 1024;
const MAX_LISTING_BYTES = 16 * 1024 * 1024;
const TRANSFER_TIMEOUT_MS = 120_000;

const LIST_PROPS = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/></d:prop></d:propfind>`;
// RFC 4331's properties: what the collection holds, and what it may still take.
const QUOTA_PROPS = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/><d:quota-available-bytes/></d:prop></d:propfind>`;

/** One `response` of a 207 multistatus: where it is below the base collection, and its found properties. */
interface DavEntry {
  segments: string[];
  collection: boolean;
  props: Record<string, unknown>;
}

const xml = new XMLParser({
  // Servers pick their own prefix for DAV: (`d:`, `D:`, none); the local names are what count.
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'response' || name === 'propstat',
});

/**
 * Storage on a WebDAV server (RFC 4918), such as Nextcloud, ownCloud or Apache's mod_dav: files
 * are PUT and GET under the connection's collection, folders made with MKCOL when a PUT finds its
 * parent missing, listings read with PROPFIND, and the quota from RFC 4331's properties. Calls go
 * through the connection's rate budget and the shared client, so failures are classified as every
 * partner call's are.
 */
@Injectable()
@Provider({
  key: WEBDAV_PROVIDER_KEY,
  title: 'A WebDAV server',
  kinds: ['storage'],
  configSchema: WEBDAV_CONFIG_SCHEMA,
  credentialTypes: ['none', 'basic', 'bearer'],
  capabilities: ['storage'],
})
export class WebdavProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

  /** A PROPFIND of the base collection must answer 207 Multi-Status. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const secrets = secretsOf(connection.credentials);
    const response = await this.http.request({
      ...propfind(connection, [], 0, LIST_PROPS),
      signal,
      secrets,
    });
    if (response.status !== 207) {
      throw new ProviderError(
        'PERMANENT',
        `PROPFIND ${maskUrl(baseOf(connection), secrets)} answered ${response.status}, not 207: it is not a WebDAV collection`,
        { status: response.status },
      );
    }
  }

  /** PUTs the file; when its folder is missing (409), makes the folders from the top and PUTs again. */
  async put(ctx: StorageContext, file: string, content: Buffer, contentType?: string): Promise<void> {
    const segments = storagePath(file);
    const send = () =>
      ctx.request({
        method: 'PUT',
        url: urlOf(ctx.connection, segments),
        headers: {
          ...authHeaders(ctx.connection.credentials),
          'content-type': contentType ?? 'application/octet-stream',
        },
        body: content,
        timeoutMs: TRANSFER_TIMEOUT_MS,
      });
    try {
      await send();
    } catch (error) {
      if (!hasStatus(error, 409)) throw error;
      await this.makeFolders(ctx, segments.slice(0, -1));
      await send();
    }
  }

  async get(ctx: StorageContext, file: string): Promise<Buffer | null> {
    try {
      const response = await ctx.request({
        method: 'GET',
        url: urlOf(ctx.connection, storagePath(file)),
        headers: authHeaders(ctx.connection.credentials),
        binary: true,
        maxResponseBytes: MAX_FILE_BYTES,
        timeoutMs: TRANSFER_TIMEOUT_MS,
      });
      return response.body as Buffer;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(ctx: StorageContext, file: string): Promise<void> {
    try {
      await ctx.request({
        method: 'DELETE',
        url: urlOf(ctx.connection, storagePath(file)),
        headers: authHeaders(ctx.connection.credentials),
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Walks the collections under `prefix` one PROPFIND (Depth: 1) each. */
  async list(ctx: StorageContext, prefix: string): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    const folders = [storagePath(prefix, true)];
    while (folders.length > 0) {
      const folder = folders.shift()!;
      let entries: DavEntry[];
      try {
        entries = await this.propfind(ctx, folder, 1, LIST_PROPS);
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      // Only the folder's own children: a server answering more (or itself) cannot send the walk round in circles.
      const children = entries.filter(
        ({ segments }) =>
          segments.length === folder.length + 1 && folder.every((part, i) => segments[i] === part),
      );
      for (const { segments, collection, props } of children) {
        if (collection) folders.push(segments);
        else files.push({ path: segments.join('/'), size: Number(props.getcontentlength) || 0 });
      }
    }
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** RFC 4331's quota properties of the base collection; without them, what the files add up to. */
  async usage(ctx: StorageContext): Promise<StorageUsage> {
    const entries = await this.propfind(ctx, [], 0, QUOTA_PROPS);
    const props = (entries.find(({ segments }) => segments.length === 0) ?? entries[0])?.props ?? {};
    const used = byteCount(props['quota-used-bytes']);
    const available = byteCount(props['quota-available-bytes']);
    const usedBytes = used ?? (await this.list(ctx, '')).reduce((sum, { size }) => sum + size, 0);
    return { usedBytes, quotaBytes: used !== null && available !== null ? used + available : null };
  }

  /** MKCOL each folder from the top; one that exists already (405) is fine. */
  private async makeFolders(ctx: StorageContext, segments: string[]): Promise<void> {
    for (let depth = 1; depth <= segments.length; depth++) {
      try {
        await ctx.request({
          method: 'MKCOL',
          url: urlOf(ctx.connection, segments.slice(0, depth), true),
          headers: authHeaders(ctx.connection.credentials),
        });
      } catch (error) {
        if (!hasStatus(error, 405)) throw error;
      }
    }
  }

  private async propfind(
    ctx: StorageContext,
    segments: string[],
    depth: 0 | 1,
    body: string,
  ): Promise<DavEntry[]> {
    const response = await ctx.request(propfind(ctx.connection, segments, depth, body));
    return entriesOf(response, baseOf(ctx.connection));
  }
}

function propfind(
  connection: ProviderConnection,
  segments: string[],
  depth: 0 | 1,
  body: string,
): PartnerRequest {
  return {
    method: 'PROPFIND',
    url: urlOf(connection, segments, true),
    headers: {
      ...authHeaders(connection.credentials),
      depth: String(depth),
      'content-type': 'application/xml; charset=utf-8',
    },
    body,
    maxResponseBytes: MAX_LISTING_BYTES,
  };
}

/** The base collection's URL, ending with `/`. */
function baseOf(connection: ProviderConnection): string {
  return (connection.config as unknown as WebdavConfig).url.replace(/\/*$/, '/');
}

/** The URL of `segments` under the base collection; a collection's ends with `/`. */
function urlOf(connection: ProviderConnection, segments: string[], collection = false): string {
  const path = segments.map(encodeURIComponent).join('/');
  return `${baseOf(connection)}${path}${collection && path !== '' ? '/' : ''}`;
}

/**
 * The entries of a 207 multistatus, each with its path below the base collection and the
 * properties found (200) for it. An entry outside the base, or whose name is no storage path, is
 * left out: it could not be read back through this connection anyway.
 */
function entriesOf(response: PartnerResponse, base: string): DavEntry[] {
  if (response.status !== 207 || typeof response.body !== 'string')
    throw new ProviderError('PERMANENT', `PROPFIND answered ${response.status} without a multistatus`);
  let parsed: unknown;
  try {
    parsed = xml.parse(response.body);
  } catch (error) {
    throw new ProviderError('PERMANENT', 'PROPFIND answered XML that does not parse', { cause: error });
  }
  const responses = (parsed as { multistatus?: { response?: unknown[] } }).multistatus?.response ?? [];
  const basePath = segmentsOf(new URL(base).pathname) ?? [];
  const entries: DavEntry[] = [];
  for (const item of responses as { href?: unknown; propstat?: { status?: unknown; prop?: unknown }[] }[]) {
    if (typeof item.href !== 'string') continue;
    const segments = segmentsOf(new URL(item.href, base).pathname);
    if (!segments || !basePath.every((part, i) => segments[i] === part)) continue;
    const below = segments.slice(basePath.length);
    if (below.length > 0 && storagePathProblem(below.join('/')) !== null) continue;
    const found = (item.propstat ?? []).filter(
      ({ status }) => typeof status !== 'string' || / 2\d\d /.test(`${status} `),
    );
    const props = Object.assign(
      {},
      ...found.map(({ prop }) => (typeof prop === 'object' ? prop : {})),
    ) as Record<string, unknown>;
    const type = props.resourcetype;
    entries.push({
      segments: below,
      collection: typeof type === 'object' && type !== null && 'collection' in type,
      props,
    });
  }
  return entries;
}

/** A URL path's segments, decoded; null when one is not valid percent-encoding. */
function segmentsOf(pathname: string): string[] | null {
  try {
    return pathname
      .split('/')
      .filter((part) => part !== '')
      .map(decodeURIComponent);
  } catch {
    return null;
  }
}

/** A property holding a whole number of bytes (RFC 4331), or null when absent or not one. */
function byteCount(value: unknown): number | null {
  const text = typeof value === 'string' ? value.trim() : '';
  return /^\d+$/.test(text) ? Number(text) : null;
}

function hasStatus(error: unknown, status: number): boolean {
  return error instanceof ProviderError && error.status === status;
}

function isNotFound(error: unknown): boolean {
  return error instanceof ProviderError && error.code === 'NOT_FOUND';
}
