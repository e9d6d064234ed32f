import { CloudflareDnsProvider } from '../src/modules/providers/cloudflare-dns/cloudflare-dns.provider.js';
import { ProviderError } from '../src/modules/providers/http/provider-error.js';
import { MockDnsProvider } from '../src/modules/providers/mock-dns/mock-dns.provider.js';
import { PartnerCallsService } from '../src/modules/providers/partner-calls.service.js';
import type { DriverContext } from '../src/modules/providers/provisioning-drivers.js';
import { FakeCloudflare } from './fakes/cloudflare.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'cf-token-0123456789abcdefghijklmnopqrstuvw';
const WRONG_TOKEN = 'cf-token-wrong-9876543210zyxwvutsrqponmlk';

describe(`the cloudflare-dns and mock-dns drivers (${mode})`, () => {
  let t: TestApp;
  let cloudflare: FakeCloudflare;
  let serial = 0;

  beforeAll(async () => {
    cloudflare = await new FakeCloudflare({ token: TOKEN, maxPerPage: 2 }).start();
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    await cloudflare.stop();
  });

  /** A new zone at the fake and a connection to it; returns the zone's id and the connection's. */
  async function connect(config: Record<string, unknown> = {}, token = TOKEN) {
    const zoneId = cloudflare.addZone(`zone${++serial}.example`);
    const { id } = (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'cloudflare-dns',
          name: `cloudflare-${serial}`,
          config: { zoneId, apiBaseUrl: cloudflare.url, ...config },
          credentials: { type: 'bearer', token },
        })
        .expect(201)
    ).body as { id: string };
    return { zoneId, connectionId: id, zone: `zone${serial}.example` };
  }

  /** What provisioning gives a driver: the opened connection and calls within its rate budget. */
  async function driverContext(connectionId: string): Promise<DriverContext> {
    const calls = t.app.get(PartnerCallsService);
    const { connection, opened } = await calls.usable(connectionId);
    const job = { signal: new AbortController().signal, log: () => Promise.resolve() };
    return {
      connection: opened,
      signal: job.signal,
      log: job.log,
      request: (request) => calls.request(connection, opened, job, request),
    };
  }

  const driver = () => t.app.get(CloudflareDnsProvider);
  const cnames = (zoneId: string) =>
    cloudflare
      .records(zoneId)
      .filter((record) => record.type === 'CNAME')
      .map(({ name, content, ttl, proxied }) => ({ name, content, ttl, proxied }));
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error as ProviderError,
    );

  it('creates, keeps, replaces and deletes a CNAME, and deleting again succeeds', async () => {
    const { zoneId, connectionId, zone } = await connect({ ttl: 300 });
    const ctx = await driverContext(connectionId);

    await driver().dnsUpsertCname(ctx, `WWW.${zone}.`, 'shop.cdn.example.');
    expect(cnames(zoneId)).toEqual([
      { name: `www.${zone}`, content: 'shop.cdn.example', ttl: 300, proxied: false },
    ]);

    const before = cloudflare.calls.length;
    await driver().dnsUpsertCname(ctx, `www.${zone}`, 'shop.cdn.example');
    expect(cloudflare.calls.slice(before).map((call) => call.method)).toEqual(['GET']);
    expect(cloudflare.calls.at(-1)?.query).toMatchObject({ type: 'CNAME', 'name.exact': `www.${zone}` });

    await driver().dnsUpsertCname(ctx, `www.${zone}`, 'shop2.cdn.example');
    expect(cnames(zoneId)).toEqual([
      { name: `www.${zone}`, content: 'shop2.cdn.example', ttl: 300, proxied: false },
    ]);
    expect(cloudflare.calls.at(-1)).toMatchObject({ method: 'PUT', status: 200 });

    await driver().dnsDeleteCname(ctx, `www.${zone}`);
    expect(cnames(zoneId)).toEqual([]);
    const afterDelete = cloudflare.calls.length;
    await driver().dnsDeleteCname(ctx, `www.${zone}`);
    expect(cloudflare.calls.slice(afterDelete).map((call) => call.method)).toEqual(['GET']);
  });

  it('sends proxied records with an automatic TTL when the connection asks for the proxy', async () => {
    const { zoneId, connectionId, zone } = await connect({ proxied: true });
    await driver().dnsUpsertCname(await driverContext(connectionId), `api.${zone}`, 'api.cdn.example');
    expect(cnames(zoneId)).toEqual([
      { name: `api.${zone}`, content: 'api.cdn.example', ttl: 1, proxied: true },
    ]);
  });

  it('fails PERMANENT naming the records when the name is taken by A records, reading every page', async () => {
    const { zoneId, connectionId, zone } = await connect();
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      cloudflare.addRecord(zoneId, { type: 'A', name: `shop.${zone}`, content: address });

    const error = await failure(
      driver().dnsUpsertCname(await driverContext(connectionId), `shop.${zone}`, 'shop.cdn.example'),
    );

    expect(error).toBeInstanceOf(ProviderError);
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toContain(`cannot make shop.${zone} a CNAME`);
    expect(error.message).toContain('A 192.0.2.1, A 192.0.2.2, A 192.0.2.3');
    expect(error.message).toContain('[81053]');
    // Three A records on pages of two: the lookup read both pages.
    const lookups = cloudflare.calls.filter(
      (call) =>
        call.path === `/client/v4/zones/${zoneId}/dns_records` && call.method === 'GET' && !call.query.type,
    );
    expect(lookups.map((call) => call.query.page)).toEqual(['1', '2']);
    expect(cnames(zoneId)).toEqual([]);
  });

  it('classifies 429 as RATE_LIMITED, 503 as TEMPORARY and success: false as PERMANENT, with Cloudflare’s errors in the message', async () => {
    const { connectionId, zone } = await connect();
    const ctx = await driverContext(connectionId);

    cloudflare.failNext(1, 429);
    const limited = await failure(driver().dnsUpsertCname(ctx, `a.${zone}`, 'a.cdn.example'));
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.retryAfterMs).toBe(1000);
    expect(limited.message).toContain('[971] Please wait');

    cloudflare.failNext(1, 503);
    const down = await failure(driver().dnsDeleteCname(ctx, `a.${zone}`));
    expect(down.code).toBe('TEMPORARY');
    expect(down.message).toContain('503');

    // Cloudflare's envelope decides, not only the status: a 200 that says `success: false` failed.
    cloudflare.failNext(1, 200);
    const refused = await failure(driver().dnsDeleteCname(ctx, `a.${zone}`));
    expect(refused.code).toBe('PERMANENT');
    expect(refused.message).toContain('[10200] the fake was told to fail with 200');
  });

  it('fails AUTH on a refused token, never showing it, and marks the connection', async () => {
    const { connectionId, zone } = await connect({}, WRONG_TOKEN);

    const test = await t.http().post(`/connections/${connectionId}/test`).set(admin).expect(200);
    expect(test.body).toMatchObject({ ok: false, code: 'AUTH' });
    expect(test.body.message).toContain('[10000] Authentication error');

    const error = await failure(
      driver().dnsUpsertCname(await driverContext(connectionId), `b.${zone}`, 'b.cdn.example'),
    );
    expect(error.code).toBe('AUTH');
    expect(JSON.stringify({ test: test.body, message: error.message, stack: error.stack })).not.toContain(
      WRONG_TOKEN,
    );
    const connection = await t.http().get(`/connections/${connectionId}`).set(admin).expect(200);
    expect(connection.body.state).toBe('bad_authentication');
  });

  it('passes the connection test with a good token and a known zone', async () => {
    const { zoneId, connectionId } = await connect();
    const test = await t.http().post(`/connections/${connectionId}/test`).set(admin).expect(200);
    expect(test.body).toMatchObject({ ok: true, code: null });
    expect(cloudflare.calls.at(-1)).toMatchObject({ method: 'GET', path: `/client/v4/zones/${zoneId}` });
  });

  it('refuses a connection whose zone id or TTL Cloudflare would not take', async () => {
    const refused = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'cloudflare-dns',
        name: 'cloudflare-bad',
        config: { zoneId: 'not-a-zone', ttl: 30 },
        credentials: { type: 'bearer', token: TOKEN },
      })
      .expect(422);
    const paths = (refused.body.details as { path: string }[]).map((problem) => problem.path);
    expect(paths).toEqual(expect.arrayContaining(['/config/zoneId', '/config/ttl']));
  });

  it('keeps mock-dns CNAMEs per connection in memory', async () => {
    const create = async (name: string) =>
      (
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({ provider: 'mock-dns', name, config: {}, credentials: { type: 'none' } })
          .expect(201)
      ).body as { id: string };
    const [one, two] = [await create('mock-dns-1'), await create('mock-dns-2')];
    const mock = t.app.get(MockDnsProvider);

    await mock.dnsUpsertCname(await driverContext(one.id), 'WWW.Shop.example.', 'edge.cdn.example');
    await mock.dnsUpsertCname(await driverContext(two.id), 'api.shop.example', 'api.cdn.example');
    await mock.dnsUpsertCname(await driverContext(one.id), 'www.shop.example', 'edge2.cdn.example');
    expect(mock.records(one.id)).toEqual({ 'www.shop.example': 'edge2.cdn.example' });

    await mock.dnsDeleteCname(await driverContext(one.id), 'www.shop.example');
    await mock.dnsDeleteCname(await driverContext(one.id), 'www.shop.example');
    expect(mock.records(one.id)).toEqual({});
    expect(mock.records(two.id)).toEqual({ 'api.shop.example': 'api.cdn.example' });
  });
});
