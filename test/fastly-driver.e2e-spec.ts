import { randomUUID } from 'node:crypto';
import {
  FastlyProvider,
  FASTLY_NON_TLS_CNAME,
  serviceName,
} from '../src/modules/providers/fastly/fastly.provider.js';
import { ProviderError } from '../src/modules/providers/http/provider-error.js';
import { MockCdnProvider } from '../src/modules/providers/mock-cdn/mock-cdn.provider.js';
import { PartnerCallsService } from '../src/modules/providers/partner-calls.service.js';
import type { CdnServiceSpec, DriverContext } from '../src/modules/providers/provisioning-drivers.js';
import { FakeFastly } from './fakes/fastly.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'fastly-token-0123456789abcdefghijklmnopqrstuv';

function spec(overrides: Partial<CdnServiceSpec> = {}): CdnServiceSpec {
  return {
    serviceId: randomUUID(),
    name: 'shop assets',
    domains: [
      { domain: 'cdn.shop.example', protocol: 'https', certificate: 'san' },
      { domain: 'img.shop.example', protocol: 'http', certificate: 'shared' },
    ],
    origins: [{ origin: 'origin.shop.example', port: 443, ssl: true, rules: [] }],
    caching: [{ name: 'default', ttl: 3600, rules: [] }],
    restrictions: [],
    logDelivery: { enabled: false },
    enabled: true,
    ...overrides,
  };
}

describe(`the fastly CDN driver (${mode})`, () => {
  let t: TestApp;
  let fastly: FakeFastly;
  let driver: FastlyProvider;
  let serial = 0;

  beforeAll(async () => {
    fastly = await new FakeFastly(TOKEN).start();
    t = await startTestApp();
    driver = t.app.get(FastlyProvider);
  });
  afterAll(async () => {
    await t.close();
    await fastly.stop();
  });
  afterEach(() => fastly.heal());

  async function connect(provider: string, config: Record<string, unknown>, credentials: object) {
    return (
      (
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({ provider, name: `${provider}-${++serial}`, config, credentials })
          .expect(201)
      ).body as { id: string }
    ).id;
  }

  /** What the provisioning flow gives a driver: partner calls through the connection's budget. */
  async function driverContext(connectionId: string, lines: string[] = []): Promise<DriverContext> {
    const calls = t.app.get(PartnerCallsService);
    const { connection, opened } = await calls.usable(connectionId);
    const call = {
      signal: new AbortController().signal,
      log: (line: string) => {
        lines.push(line);
        return Promise.resolve();
      },
    };
    return {
      connection: opened,
      signal: call.signal,
      log: call.log,
      request: (request) => calls.request(connection, opened, call, request),
    };
  }

  const fastlyConnection = () =>
    connect(
      'fastly',
      { apiBaseUrl: fastly.url, tlsCname: 'j.sni.global.fastly.net' },
      {
        type: 'bearer',
        token: TOKEN,
      },
    );

  it('creates, configures and activates a service, and says where each domain points', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const wanted = spec();

    const deployment = await driver.cdnCreate(ctx, wanted);

    const service = fastly.service(deployment.providerServiceId)!;
    expect(service).toMatchObject({ name: serviceName(wanted.serviceId), type: 'vcl' });
    const active = fastly.activeVersion(service.id)!;
    expect(active).toMatchObject({ number: 1, locked: true });
    expect([...active.domains.keys()]).toEqual(['cdn.shop.example', 'img.shop.example']);
    expect([...active.backends.values()]).toEqual([
      { name: 'origin.shop.example-443', address: 'origin.shop.example', port: 443, use_ssl: true },
    ]);
    expect([...active.cacheSettings.values()]).toEqual([{ name: 'default', ttl: 3600, action: 'cache' }]);
    expect(deployment.accessUrls).toEqual([
      { domain: 'cdn.shop.example', url: 'j.sni.global.fastly.net' },
      { domain: 'img.shop.example', url: FASTLY_NON_TLS_CNAME },
    ]);
    expect(await driver.cdnStatus(ctx, service.id)).toBe('deployed');
  });

  it('finds the service an earlier create made instead of making another', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const wanted = spec();
    const first = await driver.cdnCreate(ctx, wanted);
    const writes = fastly.count('PUT *') + fastly.count('POST *');

    const second = await driver.cdnCreate(ctx, wanted);

    expect(second).toEqual(first);
    expect(fastly.list().filter((service) => service.name === serviceName(wanted.serviceId))).toHaveLength(1);
    // The active version already holds the spec: nothing was cloned, written or activated.
    expect(fastly.count('PUT *') + fastly.count('POST *')).toBe(writes);
  });

  it('finishes the service an interrupted create left behind, through outages, without making another', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const wanted = spec();
    // An earlier attempt created the service and added a domain to its draft, then lost its job.
    const write = (path: string, form: Record<string, string>) =>
      fetch(`${fastly.url}${path}`, {
        method: 'POST',
        headers: { 'fastly-key': TOKEN, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      }).then((response) => response.json() as Promise<{ id: string }>);
    const left = await write('/service', { name: serviceName(wanted.serviceId), type: 'vcl' });
    await write(`/service/${left.id}/version/1/domain`, { name: 'old.shop.example' });
    fastly.failNext(2, 503);
    await expect(driver.cdnCreate(ctx, wanted)).rejects.toMatchObject({ code: 'TEMPORARY' });
    await expect(driver.cdnCreate(ctx, wanted)).rejects.toMatchObject({ code: 'TEMPORARY' });

    const deployment = await driver.cdnCreate(ctx, wanted);

    expect(deployment.providerServiceId).toBe(left.id);
    expect(fastly.list().filter((service) => service.name === serviceName(wanted.serviceId))).toHaveLength(1);
    const active = fastly.activeVersion(left.id)!;
    expect(active.number).toBe(1);
    expect([...active.domains.keys()].sort()).toEqual(['cdn.shop.example', 'img.shop.example']);
  });

  it('replaces domains and backends on a new active version', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const wanted = spec();
    const { providerServiceId } = await driver.cdnCreate(ctx, wanted);

    const deployment = await driver.cdnUpdate(ctx, providerServiceId, {
      ...wanted,
      domains: [
        { domain: 'img.shop.example', protocol: 'http', certificate: 'shared' },
        { domain: 'static.shop.example', protocol: 'http', certificate: 'shared' },
      ],
      origins: [{ origin: 'origin2.shop.example', port: 80, ssl: false, rules: [] }],
      caching: [],
    });

    const active = fastly.activeVersion(providerServiceId)!;
    expect(active.number).toBe(2);
    expect([...active.domains.keys()].sort()).toEqual(['img.shop.example', 'static.shop.example']);
    expect([...active.backends.values()]).toEqual([
      { name: 'origin2.shop.example-80', address: 'origin2.shop.example', port: 80, use_ssl: false },
    ]);
    expect(active.cacheSettings.size).toBe(0);
    // The first version is kept as Fastly keeps it: locked, no longer active.
    expect(fastly.service(providerServiceId)!.versions[0]).toMatchObject({ active: false, locked: true });
    expect(deployment.accessUrls.map((access) => access.domain)).toEqual([
      'img.shop.example',
      'static.shop.example',
    ]);
  });

  it('deactivates a disabled service, and activates it again when enabled', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const wanted = spec();
    const { providerServiceId } = await driver.cdnCreate(ctx, wanted);

    await driver.cdnUpdate(ctx, providerServiceId, { ...wanted, enabled: false });
    expect(fastly.activeVersion(providerServiceId)).toBeUndefined();
    expect(await driver.cdnStatus(ctx, providerServiceId)).toBe('in_progress');

    await driver.cdnUpdate(ctx, providerServiceId, wanted);
    expect(fastly.activeVersion(providerServiceId)?.domains.size).toBe(2);
  });

  it('purges one URL, a path on every domain, and everything', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const { providerServiceId } = await driver.cdnCreate(ctx, spec());
    fastly.purges.length = 0;

    await driver.cdnPurge(ctx, providerServiceId, 'https://cdn.shop.example/app.js?v=2');
    await driver.cdnPurge(ctx, providerServiceId, '/logo.png');
    await driver.cdnPurge(ctx, providerServiceId, null);

    expect(fastly.purges).toEqual([
      { kind: 'url', url: 'cdn.shop.example/app.js?v=2' },
      { kind: 'url', url: 'cdn.shop.example/logo.png' },
      { kind: 'url', url: 'img.shop.example/logo.png' },
      { kind: 'all', serviceId: providerServiceId },
    ]);
  });

  it('deletes a service, and deleting it again succeeds', async () => {
    const ctx = await driverContext(await fastlyConnection());
    const { providerServiceId } = await driver.cdnCreate(ctx, spec());

    await driver.cdnDelete(ctx, providerServiceId);
    expect(fastly.service(providerServiceId)).toBeUndefined();
    await driver.cdnDelete(ctx, providerServiceId);
    expect(await driver.cdnStatus(ctx, providerServiceId)).toBe('failed');
  });

  it('reports an outage as TEMPORARY and a refused token as AUTH, never showing the token', async () => {
    const ctx = await driverContext(await fastlyConnection());
    fastly.failNext(1, 503);
    const outage = await driver.cdnCreate(ctx, spec()).catch((error: unknown) => error);
    expect(outage).toBeInstanceOf(ProviderError);
    expect(outage).toMatchObject({ code: 'TEMPORARY', status: 503 });
    expect((outage as Error).message).not.toContain(TOKEN);

    const wrong = `${TOKEN}-revoked`;
    const refusedId = await connect('fastly', { apiBaseUrl: fastly.url }, { type: 'bearer', token: wrong });
    const lines: string[] = [];
    const refused = await driver
      .cdnCreate(await driverContext(refusedId, lines), spec())
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'AUTH', status: 401 });
    expect((refused as Error).message).not.toContain(wrong);
    expect(lines.join('\n')).not.toContain(wrong);
    expect(lines.length).toBeGreaterThan(0);
  });

  it('tests a connection with the token, and says when Fastly refuses it', async () => {
    const good = await fastlyConnection();
    const bad = await connect(
      'fastly',
      { apiBaseUrl: fastly.url },
      { type: 'bearer', token: 'not-the-token-42' },
    );

    const passed = await t.http().post(`/connections/${good}/test`).set(admin).expect(200);
    const failed = await t.http().post(`/connections/${bad}/test`).set(admin).expect(200);

    expect(passed.body).toMatchObject({ ok: true });
    expect(failed.body).toMatchObject({ ok: false, code: 'AUTH' });
    expect(JSON.stringify(failed.body)).not.toContain('not-the-token-42');
  });

  it('refuses connection settings that are not a URL', async () => {
    await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'fastly',
        name: 'fastly-bad',
        config: { apiBaseUrl: 'api.fastly.com' },
        credentials: { type: 'bearer', token: TOKEN },
      })
      .expect(422);
  });

  describe('mock-cdn', () => {
    it('keeps services in memory, idempotent per service id, and records purges', async () => {
      const mock = t.app.get(MockCdnProvider);
      const connectionId = await connect('mock-cdn', { domainSuffix: 'cdn.test' }, { type: 'none' });
      const ctx = await driverContext(connectionId);
      const wanted = spec();

      const first = await mock.cdnCreate(ctx, wanted);
      const second = await mock.cdnCreate(ctx, wanted);
      await mock.cdnPurge(ctx, first.providerServiceId, '/a.css');
      await mock.cdnPurge(ctx, first.providerServiceId, null);

      expect(second).toEqual(first);
      expect(first.accessUrls).toEqual([
        { domain: 'cdn.shop.example', url: `${wanted.serviceId}.cdn.test` },
        { domain: 'img.shop.example', url: `${wanted.serviceId}.cdn.test` },
      ]);
      expect(mock.servicesOf(connectionId).size).toBe(1);
      expect(mock.servicesOf(connectionId).get(wanted.serviceId)?.purges).toEqual(['/a.css', null]);
      expect(await mock.cdnStatus(ctx, first.providerServiceId)).toBe('deployed');

      await mock.cdnDelete(ctx, first.providerServiceId);
      await mock.cdnDelete(ctx, first.providerServiceId);
      expect(await mock.cdnStatus(ctx, first.providerServiceId)).toBe('failed');
    });
  });
});
