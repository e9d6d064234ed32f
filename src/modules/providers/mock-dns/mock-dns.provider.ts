import { Injectable } from '@nestjs/common';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import type { DnsDriver, DriverContext } from '../provisioning-drivers.js';

export const MOCK_DNS_PROVIDER_KEY = 'mock-dns';

/**
 * A DNS driver that keeps CNAMEs in this process's memory, one set per connection, so Junction's
 * provisioning can be tried without a DNS provider account. Its records are lost on restart.
 */
@Injectable()
@Provider({
  key: MOCK_DNS_PROVIDER_KEY,
  title: 'Mock DNS (in process, for trying Junction)',
  kinds: ['dns'],
  // Nothing to set: every connection is its own empty zone.
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  credentialTypes: ['none'],
  capabilities: ['dns'],
})
export class MockDnsProvider implements ConnectionProvider, DnsDriver {
  /** Connection id -> name -> target. */
  private readonly zones = new Map<string, Map<string, string>>();

  dnsUpsertCname(ctx: DriverContext, name: string, target: string): Promise<void> {
    const zone = this.zones.get(ctx.connection.id) ?? new Map<string, string>();
    this.zones.set(ctx.connection.id, zone);
    zone.set(normalName(name), normalName(target));
    return ctx.log(`mock-dns: CNAME ${normalName(name)} -> ${normalName(target)}`);
  }

  dnsDeleteCname(ctx: DriverContext, name: string): Promise<void> {
    this.zones.get(ctx.connection.id)?.delete(normalName(name));
    return ctx.log(`mock-dns: no CNAME ${normalName(name)} any more`);
  }

  /** The connection's CNAMEs, name -> target, for tests and people trying Junction. */
  records(connectionId: string): Record<string, string> {
    return Object.fromEntries(this.zones.get(connectionId) ?? []);
  }
}

/** DNS names are case-insensitive, and a trailing dot names the same host. */
function normalName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}
