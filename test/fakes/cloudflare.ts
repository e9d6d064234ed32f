import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A DNS record as Cloudflare's API v4 returns it. */
export interface CloudflareRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxiable: boolean;
  proxied: boolean;
  ttl: number;
  locked: boolean;
  meta: Record<string, unknown>;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
}

export interface FakeCloudflareOptions {
  /** The API token every call must carry as `Authorization: Bearer`. */
  token: string;
  /** Records per page when the caller asks for more (Cloudflare's own default is 100). */
  maxPerPage?: number;
}

/** One request the fake received: `GET /zones/<id>/dns_records`, its query, and the status answered. */
export interface CloudflareCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

interface CloudflareError {
  code: number;
  message: string;
}

interface Zone {
  id: string;
  name: string;
  records: CloudflareRecord[];
}

/** Types a CNAME cannot share its name with, as Cloudflare enforces ("Records with same name"). */
const ADDRESS_TYPES = new Set(['A', 'AAAA', 'CNAME']);

/**
 * A local Cloudflare that speaks the parts of its API v4 a DNS driver uses, as documented: a zone
 * (`GET /client/v4/zones/{zone_id}`) and its DNS records (`/dns_records`: list filtered by `type`
 * and `name` / `name.exact`, paged by `page` / `per_page` with `result_info`; create; replace by
 * PUT; change by PATCH; delete). Every answer is Cloudflare's envelope (`success`, `errors`,
 * `messages`, `result`), and its refusals carry its codes: 10000 for a wrong token, 7003 for a
 * zone it does not know, 81044 for a record it does not have, 81053 / 81054 for a name a CNAME
 * would share with another record, 81058 for an identical record.
 */
export class FakeCloudflare {
  private server!: Server;
  private readonly zones = new Map<string, Zone>();
  private failures: { left: number; status: number } = { left: 0, status: 0 };
  /** Every request, in order. */
  readonly calls: CloudflareCall[] = [];
  /** `http://127.0.0.1:<port>/client/v4`, what a connection's `apiBaseUrl` names. */
  url = '';

  constructor(private readonly options: FakeCloudflareOptions) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.handle(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/client/v4`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A new zone for `name` (`example.com`); returns its id. */
  addZone(name: string): string {
    const id = randomBytes(16).toString('hex');
    this.zones.set(id, { id, name, records: [] });
    return id;
  }

  /** Puts a record straight into a zone, as a person would in Cloudflare's dashboard. */
  addRecord(zoneId: string, record: { type: string; name: string; content: string }): CloudflareRecord {
    const zone = this.zone(zoneId);
    const created = this.record(zone, { ...record, ttl: 1, proxied: false });
    zone.records.push(created);
    return created;
  }

  /** The zone's records, copied. */
  records(zoneId: string): CloudflareRecord[] {
    return structuredClone(this.zone(zoneId).records);
  }

  /** The next `count` requests are answered `status` with Cloudflare's error envelope (429 with Retry-After). */
  failNext(count: number, status: number): void {
    this.failures = { left: count, status };
  }

  private handle(request: IncomingMessage, text: string, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const send = (status: number, result: unknown, errors: CloudflareError[] = [], extra = {}) => {
      this.calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), status });
      response.writeHead(status, {
        'content-type': 'application/json',
        ...(status === 429 ? { 'retry-after': '1' } : {}),
      });
      response.end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result, ...extra }));
    };
    const refuse = (status: number, code: number, message: string) => send(status, null, [{ code, message }]);

    if (this.failures.left > 0) {
      this.failures.left--;
      const { status } = this.failures;
      return status === 429
        ? refuse(429, 971, 'Please wait and consider throttling your request speed')
        : refuse(status, 10_000 + status, `the fake was told to fail with ${status}`);
    }
    const authorization = request.headers.authorization ?? '';
    if (!authorization.startsWith('Bearer ')) return refuse(400, 6003, 'Invalid request headers');
    if (authorization !== `Bearer ${this.options.token}`) return refuse(403, 10000, 'Authentication error');

    const match = /^\/client\/v4\/zones\/([^/]+)(\/dns_records(?:\/([^/]+))?)?$/.exec(url.pathname);
    if (!match) return refuse(404, 7000, 'No route for that URI');
    const zone = this.zones.get(match[1]);
    if (!zone)
      return refuse(
        404,
        7003,
        `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`,
      );
    const [, , records, recordId] = match;
    if (!records)
      return method === 'GET'
        ? send(200, { id: zone.id, name: zone.name, status: 'active', paused: false, type: 'full' })
        : refuse(405, 10405, 'Method not allowed');

    let body: Record<string, unknown> = {};
    if (text !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return refuse(400, 9207, 'Request body is invalid.');
      }
    }
    if (recordId === undefined) {
      if (method === 'GET') return this.list(zone, url, send);
      if (method === 'POST') return this.write(zone, null, body, send, refuse);
      return refuse(405, 10405, 'Method not allowed');
    }
    const index = zone.records.findIndex((record) => record.id === recordId);
    if (index < 0) return refuse(404, 81044, 'Record does not exist.');
    const existing = zone.records[index];
    switch (method) {
      case 'GET':
        return send(200, existing);
      case 'PUT':
        return this.write(zone, existing, body, send, refuse);
      case 'PATCH':
        return this.write(zone, existing, { ...existing, ...body }, send, refuse);
      case 'DELETE':
        zone.records.splice(index, 1);
        return send(200, { id: existing.id });
      default:
        return refuse(405, 10405, 'Method not allowed');
    }
  }

  private list(
    zone: Zone,
    url: URL,
    send: (status: number, result: unknown, errors?: CloudflareError[], extra?: object) => void,
  ): void {
    const type = url.searchParams.get('type');
    const name = url.searchParams.get('name.exact') ?? url.searchParams.get('name');
    const perPage = Math.min(
      Number(url.searchParams.get('per_page') ?? 100),
      this.options.maxPerPage ?? 5000,
    );
    const page = Number(url.searchParams.get('page') ?? 1);
    const matching = zone.records.filter(
      (record) =>
        (!type || record.type === type.toUpperCase()) && (!name || record.name === this.fullName(zone, name)),
    );
    const items = matching.slice((page - 1) * perPage, page * perPage);
    send(200, items, [], {
      result_info: {
        page,
        per_page: perPage,
        count: items.length,
        total_count: matching.length,
        total_pages: Math.max(1, Math.ceil(matching.length / perPage)),
      },
    });
  }

  /** A create (`existing` null) or a replacement, with Cloudflare's checks of the name. */
  private write(
    zone: Zone,
    existing: CloudflareRecord | null,
    body: Record<string, unknown>,
    send: (status: number, result: unknown) => void,
    refuse: (status: number, code: number, message: string) => void,
  ): void {
    const { type, name, content, ttl, proxied } = body;
    if (typeof type !== 'string' || typeof name !== 'string' || typeof content !== 'string')
      return refuse(400, 9000, 'DNS name, type and content are required.');
    if (
      ttl !== undefined &&
      !(ttl === 1 || (Number.isInteger(ttl) && Number(ttl) >= 60 && Number(ttl) <= 86400))
    )
      return refuse(400, 9021, 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.');
    const record = this.record(zone, {
      type: type.toUpperCase(),
      name,
      content,
      ttl: typeof ttl === 'number' ? ttl : 1,
      proxied: proxied === true,
    });
    const others = zone.records.filter((held) => held !== existing && held.name === record.name);
    if (others.some((held) => held.type === record.type && held.content === record.content))
      return refuse(400, 81058, 'An identical record already exists.');
    if (record.type === 'CNAME' && others.some((held) => ADDRESS_TYPES.has(held.type)))
      return refuse(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.');
    if (ADDRESS_TYPES.has(record.type) && others.some((held) => held.type === 'CNAME'))
      return refuse(400, 81054, 'A CNAME record with that host already exists.');
    if (existing) {
      Object.assign(existing, { ...record, id: existing.id, created_on: existing.created_on });
      return send(200, existing);
    }
    zone.records.push(record);
    send(200, record);
  }

  private record(
    zone: Zone,
    fields: { type: string; name: string; content: string; ttl: number; proxied: boolean },
  ): CloudflareRecord {
    const now = new Date().toISOString();
    return {
      id: randomBytes(16).toString('hex'),
      zone_id: zone.id,
      zone_name: zone.name,
      name: this.fullName(zone, fields.name),
      type: fields.type,
      content: fields.content.replace(/\.$/, ''),
      proxiable: ['A', 'AAAA', 'CNAME'].includes(fields.type),
      proxied: fields.proxied,
      // Cloudflare keeps a proxied record's TTL automatic, whatever was asked.
      ttl: fields.proxied ? 1 : fields.ttl,
      locked: false,
      meta: {},
      comment: null,
      tags: [],
      created_on: now,
      modified_on: now,
    };
  }

  /** Names are stored in lower case without the trailing dot; `www` and `@` are read in the zone. */
  private fullName(zone: Zone, name: string): string {
    const lower = name.trim().replace(/\.$/, '').toLowerCase();
    if (lower === '@' || lower === zone.name) return zone.name;
    return lower.endsWith(`.${zone.name}`) ? lower : `${lower}.${zone.name}`;
  }

  private zone(zoneId: string): Zone {
    const zone = this.zones.get(zoneId);
    if (!zone) throw new Error(`the fake has no zone ${zoneId}`);
    return zone;
  }
}
