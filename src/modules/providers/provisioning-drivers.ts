import type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
import type { ProviderConnection } from './provider.decorator.js';

/**
 * What a CDN driver (a provider with the `cdn` capability) and a DNS driver (`dns`) work with. The
 * provisioning module owns services; a driver only turns one service into calls to its partner.
 * Every method may throw a ProviderError: TEMPORARY and RATE_LIMITED are retried by the flow,
 * anything else fails that provider's part of the service.
 */

export interface CdnDomain {
  domain: string;
  protocol: 'http' | 'https';
  certificate: 'shared' | 'san' | 'custom';
}

export interface CdnOrigin {
  origin: string;
  port: number;
  ssl: boolean;
  rules: { name: string; requestUrl: string }[];
}

export interface CdnCaching {
  name: string;
  ttl: number;
  rules: { name: string; requestUrl: string }[];
}

export interface CdnRestriction {
  name: string;
  type: 'allow' | 'deny';
  rules: { name: string; referrer?: string; clientIp?: string; geography?: string }[];
}

/** A service as a CDN is asked to deploy it. */
export interface CdnServiceSpec {
  /** Junction's id of the service: a driver names the partner's service after it, so a retried create finds it. */
  serviceId: string;
  name: string;
  domains: CdnDomain[];
  origins: CdnOrigin[];
  caching: CdnCaching[];
  restrictions: CdnRestriction[];
  logDelivery: { enabled: boolean };
  /** False when an operator disabled the service: the CDN must refuse to serve it. */
  enabled: boolean;
}

/** Where a deployed service answers: the host each domain's DNS record points at. */
export interface CdnDeployment {
  providerServiceId: string;
  /** One per domain, in the order of the spec's domains. */
  accessUrls: { domain: string; url: string }[];
}

export type CdnStatus = 'in_progress' | 'deployed' | 'failed';

/** What a driver's methods get: the connection, the flow's signal, partner calls within the connection's budget. */
export interface DriverContext {
  connection: ProviderConnection;
  signal: AbortSignal;
  request(request: PartnerRequest): Promise<PartnerResponse>;
  log(line: string): Promise<void>;
}

export interface CdnDriver {
  /**
   * Creates the service at the partner, or finds the one an earlier attempt created for the same
   * `serviceId` (a retried flow must not create it twice), and returns where it answers.
   */
  cdnCreate(ctx: DriverContext, spec: CdnServiceSpec): Promise<CdnDeployment>;
  cdnUpdate(ctx: DriverContext, providerServiceId: string, spec: CdnServiceSpec): Promise<CdnDeployment>;
  /** Deleting a service the partner no longer has succeeds. */
  cdnDelete(ctx: DriverContext, providerServiceId: string): Promise<void>;
  /** Purges one URL (a path or a full URL of one of the domains), or everything when null. */
  cdnPurge(ctx: DriverContext, providerServiceId: string, url: string | null): Promise<void>;
  cdnStatus(ctx: DriverContext, providerServiceId: string): Promise<CdnStatus>;
}

export interface DnsDriver {
  /** Makes `name` a CNAME of `target`, creating or replacing the record. */
  dnsUpsertCname(ctx: DriverContext, name: string, target: string): Promise<void>;
  /** Removes the CNAME `name`; none there is fine. */
  dnsDeleteCname(ctx: DriverContext, name: string): Promise<void>;
}

const CDN_METHODS = ['cdnCreate', 'cdnUpdate', 'cdnDelete', 'cdnPurge', 'cdnStatus'] as const;
const DNS_METHODS = ['dnsUpsertCname', 'dnsDeleteCname'] as const;

export function isCdnDriver(instance: object): instance is CdnDriver {
  return CDN_METHODS.every((method) => typeof (instance as Record<string, unknown>)[method] === 'function');
}

export function isDnsDriver(instance: object): instance is DnsDriver {
  return DNS_METHODS.every((method) => typeof (instance as Record<string, unknown>)[method] === 'function');
}
