import { Injectable } from '@nestjs/common';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import type { HttpMethod, PartnerRequest, PartnerResponse } from '../http/partner-http.client.js';
import { ProviderError } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, ProviderConnection } from '../provider.decorator.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';
import type {
  CdnDeployment,
  CdnDriver,
  CdnServiceSpec,
  CdnStatus,
  DriverContext,
} from '../provisioning-drivers.js';

export const FASTLY_PROVIDER_KEY = 'fastly';

/** Fastly's API, unless a connection's `apiBaseUrl` says otherwise (a test fake). */
export const FASTLY_API = 'https://api.fastly.com';

/**
 * What a domain served over plain HTTP points at: Fastly's documented non-TLS hostname for its
 * whole network (it refuses port 443, so no certificate can mismatch).
 */
export const FASTLY_NON_TLS_CNAME = 'dualstack.nonssl.global.fastly.net';

/**
 * What a domain served over HTTPS points at unless `tlsCname` says otherwise. Fastly TLS routes a
 * domain through the `<letter>.sni.global.fastly.net` hostname of the account's TLS configuration,
 * whatever the certificate (Fastly-managed, shared or uploaded); the letter differs between
 * configurations, so accounts set theirs.
 */
export const FASTLY_DEFAULT_TLS_CNAME = 't.sni.global.fastly.net';

/** A connection's config for the `fastly` provider. */
export interface FastlyConfig {
  apiBaseUrl?: string;
  tlsCname?: string;
}

const FASTLY_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    apiBaseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^?#]*$',
      maxLength: 2000,
      description: `Fastly's API; ${FASTLY_API} unless set`,
    },
    tlsCname: {
      type: 'string',
      pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$',
      maxLength: 253,
      description: `Where HTTPS domains point: the hostname your Fastly TLS configuration shows; ${FASTLY_DEFAULT_TLS_CNAME} unless set`,
    },
    rateLimit: RATE_LIMIT_SCHEMA,
  },
};

/** A version as Fastly lists it in a service. */
interface FastlyVersion {
  number: number;
  active: boolean;
  locked: boolean;
}

/** The parts of `GET /service/{id}/details` the driver reads. */
interface FastlyDetails {
  id: string;
  activeVersion: number | null;
  versions: FastlyVersion[];
  /** The domains of the active version, else of the latest one. */
  domains: string[];
}

/** What one version holds of a spec, in the form both sides can compare. */
interface VersionContent {
  domains: string[];
  backends: { name: string; address: string; port: number; use_ssl: boolean }[];
  cacheSettings: { name: string; ttl: number }[];
}

/**
 * Fastly (API v1) as a CDN. A Junction service is a VCL service named `junction-<serviceId>`, so a
 * retried create finds the one an earlier attempt made. Fastly configures a service through
 * numbered versions: an active version is locked, so every change is written on a draft (the
 * latest version when it is still editable, else a clone of the active one) and goes live when
 * that draft is activated. A spec whose active version already holds it changes nothing.
 *
 * Domains, origins (as backends) and caching (one cache setting each, with its TTL) are sent;
 * origin and caching rules, restrictions and log delivery would need VCL conditions and are not.
 * A disabled service has its active version deactivated: Fastly then serves none of its domains.
 * The API token (a `bearer` credential) goes in Fastly's `Fastly-Key` header.
 */
@Injectable()
@Provider({
  key: FASTLY_PROVIDER_KEY,
  title: 'Fastly',
  kinds: ['cdn'],
  configSchema: FASTLY_CONFIG_SCHEMA,
  credentialTypes: ['bearer'],
  capabilities: ['cdn'],
})
export class FastlyProvider implements ConnectionProvider, CdnDriver {
  constructor(private readonly http: PartnerHttpClient) {}

  /** The token must be accepted: `GET /current_customer` answers the account it belongs to. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const request = fastlyRequest(connection, 'GET', '/current_customer');
    const response = await this.http.request({ ...request, signal });
    if (!isObject(response.body) || typeof response.body.id !== 'string')
      throw unexpected(request, 'an account');
  }

  async cdnCreate(ctx: DriverContext, spec: CdnServiceSpec): Promise<CdnDeployment> {
    const name = serviceName(spec.serviceId);
    const serviceId = (await findService(ctx, name)) ?? (await createService(ctx, name));
    return this.deploy(ctx, serviceId, spec);
  }

  cdnUpdate(ctx: DriverContext, providerServiceId: string, spec: CdnServiceSpec): Promise<CdnDeployment> {
    return this.deploy(ctx, providerServiceId, spec);
  }

  async cdnDelete(ctx: DriverContext, providerServiceId: string): Promise<void> {
    const details = await ignoreNotFound(serviceDetails(ctx, providerServiceId));
    if (!details) return;
    // Fastly deletes only a service that serves nothing.
    if (details.activeVersion !== null)
      await call(ctx, 'PUT', versionPath(providerServiceId, details.activeVersion, 'deactivate'));
    await ignoreNotFound(call(ctx, 'DELETE', `/service/${encodeURIComponent(providerServiceId)}`));
  }

  async cdnPurge(ctx: DriverContext, providerServiceId: string, url: string | null): Promise<void> {
    const service = encodeURIComponent(providerServiceId);
    if (url === null) {
      await call(ctx, 'POST', `/service/${service}/purge_all`);
      return;
    }
    // Fastly purges a URL by its host and path; a bare path is cached once per domain.
    const targets = /^https?:\/\//i.test(url)
      ? [hostAndPath(url)]
      : (await serviceDetails(ctx, providerServiceId)).domains.map((domain) => `${domain}${absolute(url)}`);
    for (const target of targets) await call(ctx, 'POST', `/purge/${target}`);
  }

  async cdnStatus(ctx: DriverContext, providerServiceId: string): Promise<CdnStatus> {
    const details = await ignoreNotFound(serviceDetails(ctx, providerServiceId));
    if (!details) return 'failed';
    return details.activeVersion === null ? 'in_progress' : 'deployed';
  }

  /** Brings the service to `spec` on a new active version, or deactivates it when the spec is disabled. */
  private async deploy(ctx: DriverContext, serviceId: string, spec: CdnServiceSpec): Promise<CdnDeployment> {
    const details = await serviceDetails(ctx, serviceId);
    const deployment = { providerServiceId: serviceId, accessUrls: accessUrls(ctx.connection, spec) };
    if (!spec.enabled) {
      if (details.activeVersion !== null)
        await call(ctx, 'PUT', versionPath(serviceId, details.activeVersion, 'deactivate'));
      return deployment;
    }
    const wanted = contentOf(spec);
    if (
      details.activeVersion !== null &&
      sameContent(await versionContent(ctx, serviceId, details.activeVersion), wanted)
    )
      return deployment;
    if (spec.restrictions.length > 0 || spec.logDelivery.enabled || hasRules(spec))
      await ctx.log(
        'fastly: rules, restrictions and log delivery are not applied; Fastly needs VCL for them',
      );
    const draft = await editableVersion(ctx, serviceId, details);
    await converge(ctx, serviceId, draft, await versionContent(ctx, serviceId, draft), wanted);
    await call(ctx, 'PUT', versionPath(serviceId, draft, 'activate'));
    return deployment;
  }
}

/** Named after Junction's id so that a retried create finds the service. */
export function serviceName(serviceId: string): string {
  return `junction-${serviceId}`;
}

/** Where each domain's DNS record points: see FASTLY_NON_TLS_CNAME and FASTLY_DEFAULT_TLS_CNAME. */
function accessUrls(connection: ProviderConnection, spec: CdnServiceSpec): CdnDeployment['accessUrls'] {
  const tls = (connection.config as FastlyConfig).tlsCname ?? FASTLY_DEFAULT_TLS_CNAME;
  return spec.domains.map(({ domain, protocol }) => ({
    domain,
    url: protocol === 'https' ? tls : FASTLY_NON_TLS_CNAME,
  }));
}

async function findService(ctx: DriverContext, name: string): Promise<string | null> {
  const request = fastlyRequest(ctx.connection, 'GET', '/service/search', { name });
  const response = await ignoreNotFound(ctx.request(request));
  if (!response) return null;
  if (!isObject(response.body) || typeof response.body.id !== 'string')
    throw unexpected(request, 'a service');
  return response.body.id;
}

async function createService(ctx: DriverContext, name: string): Promise<string> {
  const request = fastlyRequest(ctx.connection, 'POST', '/service', {}, { name, type: 'vcl' });
  const response = await ctx.request(request);
  if (!isObject(response.body) || typeof response.body.id !== 'string')
    throw unexpected(request, 'the service created');
  await ctx.log(`fastly: created service ${response.body.id} (${name})`);
  return response.body.id;
}

async function serviceDetails(ctx: DriverContext, serviceId: string): Promise<FastlyDetails> {
  const request = fastlyRequest(ctx.connection, 'GET', `/service/${encodeURIComponent(serviceId)}/details`);
  const body = (await ctx.request(request)).body;
  if (!isObject(body) || typeof body.id !== 'string' || !Array.isArray(body.versions))
    throw unexpected(request, 'service details');
  const versions = body.versions.filter(isObject).map((version) => ({
    number: version.number,
    active: version.active === true,
    locked: version.locked === true,
  }));
  if (!versions.every((version): version is FastlyVersion => Number.isInteger(version.number)))
    throw unexpected(request, 'numbered versions');
  const active = isObject(body.active_version) ? body.active_version : null;
  if (active !== null && !Number.isInteger(active.number))
    throw unexpected(request, 'an active version number');
  const shown = active ?? (isObject(body.version) ? body.version : null);
  const domains = Array.isArray(shown?.domains)
    ? shown.domains
        .filter(isObject)
        .flatMap((domain) => (typeof domain.name === 'string' ? [domain.name] : []))
    : [];
  return { id: body.id, activeVersion: active ? (active.number as number) : null, versions, domains };
}

/** The latest version while it is still a draft; else a clone of the active (or latest) version. */
async function editableVersion(
  ctx: DriverContext,
  serviceId: string,
  details: FastlyDetails,
): Promise<number> {
  const latest = details.versions.reduce<FastlyVersion | null>(
    (found, version) => (found === null || version.number > found.number ? version : found),
    null,
  );
  if (latest === null) throw new ProviderError('PERMANENT', `Fastly service ${serviceId} has no version`);
  if (!latest.locked && !latest.active) return latest.number;
  const request = fastlyRequest(
    ctx.connection,
    'PUT',
    versionPath(serviceId, details.activeVersion ?? latest.number, 'clone'),
  );
  const body = (await ctx.request(request)).body;
  if (!isObject(body) || !Number.isInteger(body.number)) throw unexpected(request, 'the cloned version');
  return body.number as number;
}

function contentOf(spec: CdnServiceSpec): VersionContent {
  return {
    domains: spec.domains.map((domain) => domain.domain),
    backends: spec.origins.map((origin) => ({
      name: `${origin.origin}-${origin.port}`,
      address: origin.origin,
      port: origin.port,
      use_ssl: origin.ssl,
    })),
    cacheSettings: spec.caching.map((caching) => ({ name: caching.name, ttl: caching.ttl })),
  };
}

function hasRules(spec: CdnServiceSpec): boolean {
  return [...spec.origins, ...spec.caching].some((entry) => entry.rules.length > 0);
}

async function versionContent(
  ctx: DriverContext,
  serviceId: string,
  version: number,
): Promise<VersionContent> {
  const list = async (kind: string): Promise<Record<string, unknown>[]> => {
    const request = fastlyRequest(ctx.connection, 'GET', versionPath(serviceId, version, kind));
    const body = (await ctx.request(request)).body;
    if (!Array.isArray(body)) throw unexpected(request, `a list of ${kind}`);
    return body.filter(isObject);
  };
  return {
    domains: (await list('domain')).map((domain) => String(domain.name)),
    backends: (await list('backend')).map((backend) => ({
      name: String(backend.name),
      address: String(backend.address),
      port: Number(backend.port),
      use_ssl: backend.use_ssl === true,
    })),
    cacheSettings: (await list('cache_settings')).map((setting) => ({
      name: String(setting.name),
      ttl: Number(setting.ttl),
    })),
  };
}

function sameContent(a: VersionContent, b: VersionContent): boolean {
  const keys = (content: VersionContent) => [
    [...content.domains].sort(),
    content.backends.map((backend) => JSON.stringify(backend)).sort(),
    content.cacheSettings.map((setting) => JSON.stringify(setting)).sort(),
  ];
  return JSON.stringify(keys(a)) === JSON.stringify(keys(b));
}

/** Deletes what the draft holds and the spec does not want, then adds what it lacks. */
async function converge(
  ctx: DriverContext,
  serviceId: string,
  version: number,
  current: VersionContent,
  wanted: VersionContent,
): Promise<void> {
  const sync = async <T extends { name: string }>(
    kind: string,
    have: T[],
    want: T[],
    fields: (item: T) => Record<string, string>,
  ): Promise<void> => {
    const same = (a: T, b: T) => JSON.stringify(fields(a)) === JSON.stringify(fields(b));
    for (const item of have.filter((item) => !want.some((wish) => same(item, wish))))
      await call(ctx, 'DELETE', versionPath(serviceId, version, `${kind}/${encodeURIComponent(item.name)}`));
    for (const item of want.filter((wish) => !have.some((item) => same(item, wish))))
      await call(ctx, 'POST', versionPath(serviceId, version, kind), fields(item));
  };
  const named = (names: string[]) => names.map((name) => ({ name }));
  await sync('domain', named(current.domains), named(wanted.domains), ({ name }) => ({ name }));
  await sync('backend', current.backends, wanted.backends, (backend) => ({
    name: backend.name,
    address: backend.address,
    port: String(backend.port),
    use_ssl: String(backend.use_ssl),
    // Fastly checks an origin's certificate against this name, which is the origin's own.
    ...(backend.use_ssl ? { ssl_cert_hostname: backend.address, ssl_sni_hostname: backend.address } : {}),
  }));
  await sync('cache_settings', current.cacheSettings, wanted.cacheSettings, (setting) => ({
    name: setting.name,
    ttl: String(setting.ttl),
    action: 'cache',
  }));
}

/** A call whose answer the driver needs only to succeed. */
function call(
  ctx: DriverContext,
  method: HttpMethod,
  path: string,
  form?: Record<string, string>,
): Promise<PartnerResponse> {
  return ctx.request(fastlyRequest(ctx.connection, method, path, {}, form));
}

/** A request to the connection's API with its token, in the form Fastly documents for its writes. */
function fastlyRequest(
  connection: ProviderConnection,
  method: HttpMethod,
  path: string,
  query: Record<string, string> = {},
  form?: Record<string, string>,
): PartnerRequest {
  const { credentials } = connection;
  if (credentials.type !== 'bearer' || !credentials.token)
    throw new ProviderError('PERMANENT', `a ${FASTLY_PROVIDER_KEY} connection needs a bearer token`);
  const base = ((connection.config as FastlyConfig).apiBaseUrl ?? FASTLY_API).replace(/\/+$/, '');
  return {
    method,
    url: `${base}${path}`,
    query,
    headers: {
      'fastly-key': credentials.token,
      accept: 'application/json',
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    secrets: [credentials.token],
  };
}

function versionPath(serviceId: string, version: number, tail: string): string {
  return `/service/${encodeURIComponent(serviceId)}/version/${version}/${tail}`;
}

/** `example.com/a/b?c`: the form of a URL that `POST /purge/...` takes. */
function hostAndPath(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProviderError('PERMANENT', `cannot purge ${url}: not a URL`);
  }
  return `${parsed.host}${parsed.pathname}${parsed.search}`;
}

function absolute(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** The call's answer, or null when Fastly says there is no such thing. */
async function ignoreNotFound<T>(pending: Promise<T>): Promise<T | null> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof ProviderError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unexpected(request: PartnerRequest, expected: string): ProviderError {
  return new ProviderError(
    'PERMANENT',
    `${request.method} ${request.url} did not answer ${expected} as Fastly does; is apiBaseUrl Fastly's API?`,
  );
}
