import { MockCdnProvider } from '../src/modules/providers/mock-cdn/mock-cdn.provider.js';
import { FakeCloudflare } from './fakes/cloudflare.js';
import { FakeFastly } from './fakes/fastly.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const FASTLY_TOKEN = 'fastly-provisioning-token-0123456789abcdef';
const CLOUDFLARE_TOKEN = 'cloudflare-provisioning-token-0123456789';
/** The flows' retry base in this run: the seed's 20-30 s scaled down to 200-300 ms. */
const RETRY_BASE_MS = 200;

interface Detail {
  providerServiceId: string | null;
  accessUrls: { domain: string; url: string }[];
  status: string;
  errorInfo: { code: string; message: string } | null;
}

interface ServiceBody {
  id: string;
  name: string;
  status: string;
  operatorStatus: string;
  domains: { domain: string }[];
  providerDetails: Record<string, Detail>;
}

interface JobBody {
  id: string;
  status: string;
  result: { done: number; failed: { serviceId: string; reason: string }[] } | null;
  attempts: { startedAt: string; errorCode: string | null }[];
}

describe(`provisioning (${mode})`, () => {
  let t: TestApp;
  let fastly: FakeFastly;
  let cloudflare: FakeCloudflare;
  let zoneId: string;
  let serial = 0;
  /** Flavors: fastly then mock-cdn, DNS on Cloudflare; and mock-cdn alone with mock-dns. */
  let twoCdns: string;
  let mocks: string;
  let mockCdnConnection: string;

  beforeAll(async () => {
    fastly = await new FakeFastly(FASTLY_TOKEN).start();
    cloudflare = await new FakeCloudflare({ token: CLOUDFLARE_TOKEN }).start();
    zoneId = cloudflare.addZone('shop.example');
    t = await startTestApp({ env: { JUNCTION_PROVISIONING_RETRY_BASE: `${RETRY_BASE_MS}ms` } });
    const fastlyConnection = await connect(
      'fastly',
      { apiBaseUrl: fastly.url },
      { type: 'bearer', token: FASTLY_TOKEN },
    );
    mockCdnConnection = await connect('mock-cdn', {}, { type: 'none' });
    const dns = await connect(
      'cloudflare-dns',
      { zoneId, apiBaseUrl: cloudflare.url },
      { type: 'bearer', token: CLOUDFLARE_TOKEN },
    );
    const mockDns = await connect('mock-dns', {}, { type: 'none' });
    twoCdns = await flavor(
      'two-cdns',
      [
        { provider: 'fastly', connectionId: fastlyConnection },
        { provider: 'mock-cdn', connectionId: mockCdnConnection },
      ],
      { provider: 'cloudflare-dns', connectionId: dns },
    );
    mocks = await flavor('mocks', [{ provider: 'mock-cdn', connectionId: mockCdnConnection }], {
      provider: 'mock-dns',
      connectionId: mockDns,
    });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([fastly.stop(), cloudflare.stop()]);
  });
  afterEach(() => fastly.heal());

  async function connect(provider: string, config: object, credentials: object): Promise<string> {
    return (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider, name: `${provider}-${++serial}`, config, credentials })
        .expect(201)
    ).body.id as string;
  }

  async function flavor(id: string, providers: object[], dns: object): Promise<string> {
    await t.http().post('/flavors').set(admin).send({ id, providers, dns }).expect(201);
    return id;
  }

  const project = async (name = `Provisioning ${++serial}`) =>
    (await t.http().post('/projects').set(admin).send({ name }).expect(201)).body.id as string;

  const body = (flavorId: string, ...domains: string[]) => ({
    name: `svc-${++serial}`,
    flavorId,
    domains: domains.map((domain) => ({ domain, protocol: 'http' })),
    origins: [{ origin: 'origin.shop.example', port: 443, ssl: true }],
    caching: [{ name: 'default', ttl: 600 }],
  });

  const service = async (projectId: string, id: string) =>
    (await t.http().get(`/projects/${projectId}/services/${id}`).set(admin).expect(200)).body as ServiceBody;

  const settled = (projectId: string, id: string) =>
    waitFor(
      () => service(projectId, id),
      (found) => found.status === 'deployed' || found.status === 'failed',
      20_000,
    );

  const events = async (name: string, serviceId: string) =>
    (
      (await t.http().get('/events').query({ name, limit: 200 }).set(admin).expect(200)).body.items as {
        data: { service: string };
      }[]
    ).filter((event) => event.data.service === serviceId);

  it('deploys a service on two CDN providers and points every domain at the first', async () => {
    const projectId = await project();
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'www.shop.example', 'img.shop.example'))
      .expect(202);
    expect(created.headers.location).toBe(`/projects/${projectId}/services/${created.body.id}`);
    expect(created.body).toMatchObject({ status: 'create_in_progress', operatorStatus: 'enabled' });

    const deployed = await settled(projectId, created.body.id);
    expect(deployed.status).toBe('deployed');
    const { fastly: atFastly, 'mock-cdn': atMock } = deployed.providerDetails;
    expect(atFastly).toMatchObject({ status: 'deployed', errorInfo: null });
    expect(atMock).toMatchObject({ status: 'deployed', providerServiceId: created.body.id });
    expect(fastly.list().map((found) => found.id)).toContain(atFastly.providerServiceId);
    const records = cloudflare.records(zoneId).filter((record) => record.type === 'CNAME');
    for (const domain of ['www.shop.example', 'img.shop.example']) {
      const target = atFastly.accessUrls.find((url) => url.domain === domain)!.url;
      expect(records).toContainEqual(expect.objectContaining({ name: domain, content: target }));
    }
    expect(await events('service.deployed', created.body.id)).toHaveLength(1);
  });

  it('ends deployed when a provider answers 503 twice, retrying after the seed’s doubling delays', async () => {
    const projectId = await project();
    fastly.failNext(2, 503);
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'shop-503.shop.example'))
      .expect(202);
    expect((await settled(projectId, created.body.id)).status).toBe('deployed');
    const flows = (await t.http().get('/jobs').query({ type: 'provisioning.create', limit: 200 }).set(admin))
      .body.items as { id: string; payload: { serviceId: string } }[];
    const flow = flows.find((found) => found.payload.serviceId === created.body.id)!;
    const job = (await t.http().get(`/jobs/${flow.id}`).set(admin).expect(200)).body as JobBody;
    expect(job.attempts.map((attempt) => attempt.errorCode)).toEqual(['TEMPORARY', 'TEMPORARY', null]);
    const started = job.attempts.map((attempt) => new Date(attempt.startedAt).getTime());
    // [base, 1.5 base) before the second try, twice that before the third.
    expect(started[1] - started[0]).toBeGreaterThanOrEqual(RETRY_BASE_MS);
    expect(started[2] - started[1]).toBeGreaterThanOrEqual(2 * RETRY_BASE_MS);
    expect(fastly.list().filter((found) => found.name.includes(created.body.id))).toHaveLength(1);
  });

  it('fails a provider that refuses for good, keeps its error, and a PATCH then retries it', async () => {
    const projectId = await project();
    fastly.failAlways(400);
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'broken.shop.example'))
      .expect(202);
    const failed = await settled(projectId, created.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.providerDetails.fastly).toMatchObject({
      status: 'failed',
      errorInfo: { code: 'PERMANENT' },
    });
    expect(failed.providerDetails['mock-cdn'].status).toBe('deployed');
    expect(await events('service.failed', created.body.id)).toHaveLength(1);

    fastly.heal();
    await t
      .http()
      .patch(`/projects/${projectId}/services/${created.body.id}`)
      .set(admin)
      .set('content-type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/caching/0/ttl', value: 120 }]))
      .expect(202);
    const mended = await settled(projectId, created.body.id);
    expect(mended).toMatchObject({ status: 'deployed', caching: [{ name: 'default', ttl: 120 }] });
    expect(mended.providerDetails.fastly).toMatchObject({ status: 'deployed', errorInfo: null });
  });

  it('refuses a PATCH outside the allowed paths (400) and while the service is being created (409)', async () => {
    const projectId = await project();
    fastly.failNext(3, 503);
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'busy.shop.example'))
      .expect(202);
    const patch = (operations: object[]) =>
      t.http().patch(`/projects/${projectId}/services/${created.body.id}`).set(admin).send(operations);
    // The first try failed and the flow waits to retry: the service is still being created.
    await waitFor(
      () => Promise.resolve(fastly.requests.filter((request) => request.status === 503).length),
      (count) => count >= 1,
    );
    const busy = await patch([{ op: 'replace', path: '/caching/0/ttl', value: 60 }]);
    expect([busy.status, busy.body.error]).toEqual([409, 'NOT_PATCHABLE']);
    await settled(projectId, created.body.id);

    const outside = await patch([{ op: 'replace', path: '/name', value: 'renamed' }]);
    expect([outside.status, outside.body.error]).toEqual([400, 'INVALID_PATCH']);
    const invalid = await patch([{ op: 'replace', path: '/domains/0/domain', value: 'Not A Domain' }]);
    expect([invalid.status, invalid.body.error]).toEqual([400, 'INVALID_SERVICE']);
    expect((await service(projectId, created.body.id)).domains).toEqual([
      expect.objectContaining({ domain: 'busy.shop.example' }),
    ]);
  });

  it('refuses a project’s 21st service (403) and a domain another project holds (409)', async () => {
    const [projectId, other] = [await project(), await project()];
    for (let n = 0; n < 20; n++)
      await t
        .http()
        .post(`/projects/${projectId}/services`)
        .set(admin)
        .send(body(mocks, `s${n}.limit.example`))
        .expect(202);
    const refused = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(mocks, 's20.limit.example'))
      .expect(403);
    expect(refused.body.error).toBe('LIMIT_REACHED');

    const taken = await t
      .http()
      .post(`/projects/${other}/services`)
      .set(admin)
      .send(body(mocks, 's3.limit.example'))
      .expect(409);
    expect(taken.body.error).toBe('DOMAIN_TAKEN');
    expect(
      (await t.http().get(`/projects/${projectId}/services`).set(admin).expect(200)).body.items,
    ).toHaveLength(10);
  });

  it('disables 25 services in pages of ten, reporting the one it could not, and the drivers are told', async () => {
    const projectId = await project();
    await t
      .http()
      .put(`/projects/${projectId}/service-limit`)
      .set(admin)
      .send({ maxServices: 30 })
      .expect(200);
    const ids: string[] = [];
    for (let n = 0; n < 24; n++)
      ids.push(
        (
          await t
            .http()
            .post(`/projects/${projectId}/services`)
            .set(admin)
            .send(body(mocks, `b${n}.bulk.example`))
            .expect(202)
        ).body.id as string,
      );
    for (const id of ids) await settled(projectId, id);
    const missing = '00000000-0000-4000-8000-000000000000';

    const started = await t
      .http()
      .post('/admin/services/actions')
      .set(admin)
      .send({ action: 'disable', serviceIds: [...ids.slice(0, 12), missing, ...ids.slice(12)] })
      .expect(202);
    const job = await waitFor(
      async () => (await t.http().get(`/jobs/${started.body.jobId}`).set(admin).expect(200)).body as JobBody,
      (found) => found.status === 'succeeded',
    );
    expect(job.result).toEqual({
      action: 'disable',
      done: 24,
      failed: [{ serviceId: missing, reason: expect.stringContaining(missing) }],
    });
    for (const id of ids) {
      const disabled = await settled(projectId, id);
      expect([disabled.operatorStatus, disabled.status]).toEqual(['disabled', 'deployed']);
    }
    const held = t.app.get(MockCdnProvider).servicesOf(mockCdnConnection);
    expect(ids.every((id) => held.get(id)?.spec.enabled === false)).toBe(true);
    const patched = await t
      .http()
      .patch(`/projects/${projectId}/services/${ids[0]}`)
      .set(admin)
      .send([{ op: 'replace', path: '/caching/0/ttl', value: 60 }]);
    expect(patched.status).toBe(409);

    // By project: every service of it, walked page by page.
    const enabling = await t
      .http()
      .post('/admin/services/actions')
      .set(admin)
      .send({ action: 'enable', projectId })
      .expect(202);
    const enabled = await waitFor(
      async () => (await t.http().get(`/jobs/${enabling.body.jobId}`).set(admin).expect(200)).body as JobBody,
      (found) => found.status === 'succeeded',
    );
    expect(enabled.result).toEqual({ action: 'enable', done: 24, failed: [] });
    await waitFor(
      () => Promise.resolve(ids.filter((id) => held.get(id)?.spec.enabled === true).length),
      (count) => count === 24,
    );
  });

  it('purges at every provider, and deletes a service everywhere', async () => {
    const projectId = await project();
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'purge.shop.example'))
      .expect(202);
    const deployed = await settled(projectId, created.body.id);
    await t
      .http()
      .post(`/projects/${projectId}/services/${created.body.id}/purge`)
      .set(admin)
      .send({ url: '/img/logo.png' })
      .expect(202);
    await t
      .http()
      .post(`/projects/${projectId}/services/${created.body.id}/purge`)
      .set(admin)
      .send({})
      .expect(202);
    const fastlyId = deployed.providerDetails.fastly.providerServiceId!;
    await waitFor(
      () => Promise.resolve(fastly.purges),
      (purges) =>
        purges.some((purge) => purge.kind === 'all' && purge.serviceId === fastlyId) &&
        purges.some((purge) => purge.kind === 'url' && purge.url.includes('purge.shop.example/img/logo.png')),
    );
    const atMock = t.app.get(MockCdnProvider).servicesOf(mockCdnConnection).get(created.body.id)!;
    await waitFor(
      () => Promise.resolve(atMock.purges),
      (purges) => purges.length === 2,
    );
    expect(atMock.purges).toEqual(expect.arrayContaining(['/img/logo.png', null]));

    await t.http().delete(`/projects/${projectId}/services/${created.body.id}`).set(admin).expect(202);
    await waitFor(
      async () =>
        (await t.http().get(`/projects/${projectId}/services/${created.body.id}`).set(admin)).status,
      (status) => status === 404,
    );
    expect(fastly.list().some((found) => found.id === fastlyId)).toBe(false);
    expect(cloudflare.records(zoneId).some((record) => record.name === 'purge.shop.example')).toBe(false);
    expect(await events('service.deleted', created.body.id)).toHaveLength(1);
    // The domain is free again.
    await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(mocks, 'purge.shop.example'))
      .expect(202);
  });

  it('deletes a service asked for while its create flow still retries, leaving nothing at the CDN', async () => {
    const projectId = await project();
    fastly.failNext(1, 503);
    const created = await t
      .http()
      .post(`/projects/${projectId}/services`)
      .set(admin)
      .send(body(twoCdns, 'hasty.shop.example'))
      .expect(202);
    await waitFor(
      () => Promise.resolve(fastly.requests.filter((request) => request.status === 503).length),
      (count) => count >= 1,
    );
    const deleting = await t
      .http()
      .delete(`/projects/${projectId}/services/${created.body.id}`)
      .set(admin)
      .expect(202);
    expect(deleting.body.status).toBe('delete_in_progress');
    await waitFor(
      async () =>
        (await t.http().get(`/projects/${projectId}/services/${created.body.id}`).set(admin)).status,
      (status) => status === 404,
    );
    expect(fastly.list().filter((found) => found.name.includes(created.body.id))).toEqual([]);
    expect(await events('service.deleted', created.body.id)).toHaveLength(1);
  });

  it('keeps flavors in use, and reports each flavor provider’s reachability', async () => {
    const inUse = await t.http().delete(`/flavors/${mocks}`).set(admin).expect(409);
    expect(inUse.body.error).toBe('FLAVOR_IN_USE');
    const bad = await t
      .http()
      .post('/flavors')
      .set(admin)
      .send({
        id: 'bad',
        providers: [{ provider: 'mock-dns', connectionId: mockCdnConnection }],
        dns: { provider: 'mock-cdn', connectionId: mockCdnConnection },
      })
      .expect(422);
    expect(bad.body.error).toBe('INVALID_FLAVOR');

    const health = (await t.http().get('/health/providers').set(admin).expect(200)).body as {
      flavorId: string;
      role: string;
      provider: string;
      ok: boolean;
    }[];
    expect(health.filter((entry) => entry.flavorId === twoCdns)).toEqual([
      expect.objectContaining({ role: 'cdn', provider: 'fastly', ok: true }),
      expect.objectContaining({ role: 'cdn', provider: 'mock-cdn', ok: true }),
      expect.objectContaining({ role: 'dns', provider: 'cloudflare-dns', ok: true }),
    ]);
  });
});
