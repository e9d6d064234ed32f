import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFastlyVersion {
  number: number;
  active: boolean;
  locked: boolean;
  domains: Map<string, { name: string }>;
  backends: Map<string, { name: string; address: string; port: number; use_ssl: boolean }>;
  cacheSettings: Map<string, { name: string; ttl: number; action: string }>;
}

export interface FakeFastlyService {
  id: string;
  name: string;
  type: string;
  versions: FakeFastlyVersion[];
}

export type FakeFastlyPurge = { kind: 'all'; serviceId: string } | { kind: 'url'; url: string };

/**
 * A local Fastly that speaks the parts of API v1 the CDN driver uses, as documented: the token in
 * `Fastly-Key` (else 401), services found by name, created with a first editable version, and
 * configured through versions. Activating a version locks it, and a locked version cannot be edited
 * (400): changes go on a clone. A service with an active version cannot be deleted. Writes take
 * form-encoded bodies, as Fastly's reference shows them. Purges are recorded, and switches make
 * the next requests, or every one, fail with a chosen status.
 */
export class FakeFastly {
  private server!: Server;
  private readonly services = new Map<string, FakeFastlyService>();
  private failures: { left: number; status: number } = { left: 0, status: 503 };
  private hold: { prefix: string; ms: number } | null = null;
  /** Requests `holdOnce` is keeping waiting now. */
  holding = 0;
  readonly purges: FakeFastlyPurge[] = [];
  /** Every request as `METHOD /path` (no query), in order, with the status answered. */
  readonly requests: { line: string; status: number }[] = [];
  url = '';

  constructor(private readonly token: string) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => this.receive(request, response));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `count` requests are answered `status`, then the fake answers normally again. */
  failNext(count: number, status: number): void {
    this.failures = { left: count, status };
  }

  /** Every request is answered `status` until `heal()`. */
  failAlways(status: number): void {
    this.failures = { left: Infinity, status };
  }

  heal(): void {
    this.failures = { left: 0, status: 503 };
  }

  /**
   * The next request whose `METHOD /path` starts with `prefix` is answered only after `ms` (it is
   * applied at once), so a test can kill the caller while it waits.
   */
  holdOnce(prefix: string, ms: number): void {
    this.hold = { prefix, ms };
  }

  /** How many requests matched `METHOD /path`; a path may end in `*` to match a prefix. */
  count(line: string): number {
    const prefix = line.endsWith('*') ? line.slice(0, -1) : null;
    return this.requests.filter((request) =>
      prefix ? request.line.startsWith(prefix) : request.line === line,
    ).length;
  }

  /** The services the fake holds (deleted ones are gone). */
  list(): FakeFastlyService[] {
    return [...this.services.values()];
  }

  service(id: string): FakeFastlyService | undefined {
    return this.services.get(id);
  }

  activeVersion(id: string): FakeFastlyVersion | undefined {
    return this.services.get(id)?.versions.find((version) => version.active);
  }

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const line = `${request.method} ${url.pathname}`;
      const answer = (status: number, body?: unknown) => {
        this.requests.push({ line, status });
        response.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      };
      if (this.failures.left > 0) {
        this.failures.left--;
        return answer(this.failures.status, { msg: 'Service unavailable (a switch of the fake)' });
      }
      if (request.headers['fastly-key'] !== this.token)
        return answer(401, { msg: 'Provided credentials are missing or invalid' });
      const form = readForm(request.headers['content-type'], Buffer.concat(chunks).toString('utf8'));
      const [status, body] = this.route(request.method ?? 'GET', url, form);
      if (this.hold && line.startsWith(this.hold.prefix)) {
        const { ms } = this.hold;
        this.hold = null;
        this.holding++;
        // Unref'd: a request still held when the test ends does not keep it running.
        setTimeout(() => {
          this.holding--;
          answer(status, body);
        }, ms).unref();
        return;
      }
      answer(status, body);
    });
  }

  private route(method: string, url: URL, form: Record<string, string>): [number, unknown] {
    const path = url.pathname;
    const notFound: [number, unknown] = [404, { msg: 'Record not found', detail: `Cannot find ${path}` }];
    if (method === 'GET' && path === '/current_customer') return [200, { id: 'cust-1', name: 'Acme' }];
    if (method === 'GET' && path === '/service') return [200, this.list().map(summary)];
    if (method === 'GET' && path === '/service/search') {
      const found = this.list().find((service) => service.name === url.searchParams.get('name'));
      return found ? [200, summary(found)] : notFound;
    }
    if (method === 'POST' && path === '/service') {
      if (!form.name) return [400, { msg: 'Bad request', detail: 'name is required' }];
      const service: FakeFastlyService = {
        id: randomBytes(11).toString('base64url'),
        name: form.name,
        type: form.type ?? 'vcl',
        versions: [newVersion(1)],
      };
      this.services.set(service.id, service);
      return [200, summary(service)];
    }
    const purgeUrl = /^\/purge\/(.+)$/.exec(path);
    if (method === 'POST' && purgeUrl) {
      this.purges.push({ kind: 'url', url: `${purgeUrl[1]}${url.search}` });
      return [200, { status: 'ok', id: randomBytes(6).toString('hex') }];
    }
    const match = /^\/service\/([^/]+)(\/.*)?$/.exec(path);
    const service = match ? this.services.get(decodeURIComponent(match[1])) : undefined;
    if (!match || !service) return notFound;
    const rest = match[2] ?? '';
    if (method === 'GET' && rest === '/details') return [200, details(service)];
    if (method === 'DELETE' && rest === '') {
      if (service.versions.some((version) => version.active))
        return [400, { msg: 'Bad request', detail: 'Service must be deactivated before it is deleted' }];
      this.services.delete(service.id);
      return [200, { status: 'ok' }];
    }
    if (method === 'POST' && rest === '/purge_all') {
      this.purges.push({ kind: 'all', serviceId: service.id });
      return [200, { status: 'ok' }];
    }
    const versionMatch = /^\/version\/(\d+)(?:\/([a-z_]+)(?:\/(.+))?)?$/.exec(rest);
    const version = versionMatch
      ? service.versions.find((candidate) => candidate.number === Number(versionMatch[1]))
      : undefined;
    if (!versionMatch || !version) return notFound;
    const [, , action, item] = versionMatch;
    if (method === 'PUT' && action === 'activate' && !item) {
      for (const other of service.versions) other.active = false;
      version.active = true;
      version.locked = true;
      return [200, versionSummary(service, version)];
    }
    if (method === 'PUT' && action === 'deactivate' && !item) {
      if (!version.active) return [400, { msg: 'Bad request', detail: 'Version is not active' }];
      version.active = false;
      return [200, versionSummary(service, version)];
    }
    if (method === 'PUT' && action === 'clone' && !item) {
      const clone = newVersion(Math.max(...service.versions.map((v) => v.number)) + 1);
      for (const [name, domain] of version.domains) clone.domains.set(name, { ...domain });
      for (const [name, backend] of version.backends) clone.backends.set(name, { ...backend });
      for (const [name, setting] of version.cacheSettings) clone.cacheSettings.set(name, { ...setting });
      service.versions.push(clone);
      return [200, versionSummary(service, clone)];
    }
    const collection =
      action === 'domain'
        ? version.domains
        : action === 'backend'
          ? version.backends
          : action === 'cache_settings'
            ? version.cacheSettings
            : null;
    if (!collection) return notFound;
    const base = { service_id: service.id, version: version.number };
    if (method === 'GET' && !item)
      return [200, [...collection.values()].map((entry) => ({ ...entry, ...base }))];
    if (method !== 'POST' && method !== 'DELETE') return notFound;
    if (version.locked)
      return [
        400,
        { msg: 'Bad request', detail: `Version ${version.number} is locked and cannot be edited` },
      ];
    if (method === 'DELETE') {
      if (!item || !collection.delete(decodeURIComponent(item))) return notFound;
      return [200, { status: 'ok' }];
    }
    if (item || !form.name) return [400, { msg: 'Bad request', detail: 'name is required' }];
    if (collection.has(form.name)) return [409, { msg: 'Duplicate record', detail: `${form.name} exists` }];
    const entry =
      action === 'domain'
        ? { name: form.name }
        : action === 'backend'
          ? {
              name: form.name,
              address: form.address,
              port: Number(form.port),
              use_ssl: form.use_ssl === 'true',
            }
          : { name: form.name, ttl: Number(form.ttl), action: form.action ?? 'cache' };
    (collection as Map<string, object>).set(form.name, entry);
    return [200, { ...entry, ...base }];
  }
}

function newVersion(number: number): FakeFastlyVersion {
  return {
    number,
    active: false,
    locked: false,
    domains: new Map(),
    backends: new Map(),
    cacheSettings: new Map(),
  };
}

function versionSummary(service: FakeFastlyService, version: FakeFastlyVersion) {
  return { number: version.number, active: version.active, locked: version.locked, service_id: service.id };
}

function summary(service: FakeFastlyService) {
  const active = service.versions.find((version) => version.active);
  return {
    id: service.id,
    name: service.name,
    type: service.type,
    version: active?.number ?? service.versions.at(-1)?.number,
    versions: service.versions.map((version) => versionSummary(service, version)),
  };
}

/** As `GET /service/{id}/details`: the active version's configuration, and the latest's. */
function details(service: FakeFastlyService) {
  const withConfig = (version: FakeFastlyVersion) => ({
    ...versionSummary(service, version),
    domains: [...version.domains.values()],
    backends: [...version.backends.values()],
  });
  const active = service.versions.find((version) => version.active);
  return {
    ...summary(service),
    active_version: active ? withConfig(active) : null,
    version: withConfig(active ?? service.versions.at(-1)!),
  };
}

function readForm(contentType: string | undefined, text: string): Record<string, string> {
  if (text === '') return {};
  if (contentType?.startsWith('application/json')) return JSON.parse(text) as Record<string, string>;
  return Object.fromEntries(new URLSearchParams(text));
}
