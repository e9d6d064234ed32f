import { Injectable } from '@nestjs/common';
import { ProviderError } from '../http/provider-error.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import type {
  CdnDeployment,
  CdnDriver,
  CdnServiceSpec,
  CdnStatus,
  DriverContext,
} from '../provisioning-drivers.js';

export const MOCK_CDN_PROVIDER_KEY = 'mock-cdn';
export const MOCK_CDN_DEFAULT_SUFFIX = 'mock-cdn.junction.test';

/** A connection's config for the `mock-cdn` provider. */
export interface MockCdnConfig {
  /** Access URLs are `<serviceId>.<domainSuffix>`. */
  domainSuffix?: string;
}

const MOCK_CDN_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    domainSuffix: {
      type: 'string',
      pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$',
      maxLength: 200,
      description: `Access URLs are <serviceId>.<domainSuffix>; ${MOCK_CDN_DEFAULT_SUFFIX} unless set`,
    },
  },
};

/** A service the mock holds, as the last create or update left it. */
export interface MockCdnService {
  spec: CdnServiceSpec;
  /** Purged URLs in order; null for a purge of everything. */
  purges: (string | null)[];
}

/**
 * A CDN that lives in the process, to try provisioning without a CDN account: services are kept in
 * memory (gone on restart), deploy at once, and a purge is only recorded. Junction's service id is
 * the mock's too, so a repeated create finds the service it made.
 */
@Injectable()
@Provider({
  key: MOCK_CDN_PROVIDER_KEY,
  title: 'Mock CDN (in process, for trying Junction)',
  kinds: ['cdn'],
  configSchema: MOCK_CDN_CONFIG_SCHEMA,
  credentialTypes: ['none'],
  capabilities: ['cdn'],
})
export class MockCdnProvider implements ConnectionProvider, CdnDriver {
  /** By connection id, then service id: connections never see each other's services. */
  private readonly services = new Map<string, Map<string, MockCdnService>>();

  /** What the mock holds for a connection, for people trying Junction (and its tests) to look at. */
  servicesOf(connectionId: string): ReadonlyMap<string, MockCdnService> {
    return this.services.get(connectionId) ?? new Map<string, MockCdnService>();
  }

  async cdnCreate(ctx: DriverContext, spec: CdnServiceSpec): Promise<CdnDeployment> {
    const held = this.held(ctx);
    const existing = held.get(spec.serviceId);
    held.set(spec.serviceId, { spec, purges: existing?.purges ?? [] });
    await ctx.log(`mock-cdn: ${existing ? 'found' : 'created'} service ${spec.serviceId}`);
    return this.deployment(ctx, spec.serviceId, spec);
  }

  async cdnUpdate(
    ctx: DriverContext,
    providerServiceId: string,
    spec: CdnServiceSpec,
  ): Promise<CdnDeployment> {
    const service = this.service(ctx, providerServiceId);
    service.spec = spec;
    await ctx.log(`mock-cdn: updated service ${providerServiceId}${spec.enabled ? '' : ' (disabled)'}`);
    return this.deployment(ctx, providerServiceId, spec);
  }

  async cdnDelete(ctx: DriverContext, providerServiceId: string): Promise<void> {
    if (this.held(ctx).delete(providerServiceId))
      await ctx.log(`mock-cdn: deleted service ${providerServiceId}`);
  }

  async cdnPurge(ctx: DriverContext, providerServiceId: string, url: string | null): Promise<void> {
    this.service(ctx, providerServiceId).purges.push(url);
    await ctx.log(`mock-cdn: purged ${url ?? 'everything'} from service ${providerServiceId}`);
  }

  cdnStatus(ctx: DriverContext, providerServiceId: string): Promise<CdnStatus> {
    return Promise.resolve(this.held(ctx).has(providerServiceId) ? 'deployed' : 'failed');
  }

  private held(ctx: DriverContext): Map<string, MockCdnService> {
    let held = this.services.get(ctx.connection.id);
    if (!held) this.services.set(ctx.connection.id, (held = new Map<string, MockCdnService>()));
    return held;
  }

  private service(ctx: DriverContext, providerServiceId: string): MockCdnService {
    const service = this.held(ctx).get(providerServiceId);
    if (!service) throw new ProviderError('NOT_FOUND', `mock-cdn holds no service ${providerServiceId}`);
    return service;
  }

  private deployment(ctx: DriverContext, serviceId: string, spec: CdnServiceSpec): CdnDeployment {
    const suffix = (ctx.connection.config as MockCdnConfig).domainSuffix ?? MOCK_CDN_DEFAULT_SUFFIX;
    const url = `${serviceId}.${suffix}`;
    return { providerServiceId: serviceId, accessUrls: spec.domains.map(({ domain }) => ({ domain, url })) };
  }
}
