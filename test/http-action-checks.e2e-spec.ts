import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { Provider } from '../src/modules/providers/providers.contract.js';
import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);

/** A provider that is not `http`, so an http.action naming its connection can be refused. */
@Injectable()
@Provider({
  key: 'test-ledger',
  title: 'Test ledger',
  kinds: ['rest'],
  configSchema: { type: 'object' },
  credentialTypes: ['none'],
  capabilities: [],
})
class LedgerProvider {}

@Module({ providers: [LedgerProvider] })
class LedgerModule {}

interface Problem {
  field: string;
  problems: string[];
}

/**
 * An http.action that names a connection or an action that does not exist is refused (422,
 * naming the field) wherever it is named before a job runs: POST /jobs, routes and schedules.
 */
describe('http.action payloads checked before any job runs', () => {
  let t: TestApp;
  let partner: FakePartner;
  let shop: string;
  let ledger: string;
  const noSuchAction = 'connection shop has no action "send-invoice"; it has: cancel-order, send-order';

  beforeAll(async () => {
    partner = await startFakePartner();
    t = await startTestApp({ features: [LedgerModule] });
    const action = { method: 'POST', path: '/orders', body: { reference: '{{input.orderId}}' } };
    shop = (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'http',
          name: 'shop',
          config: { baseUrl: partner.url, actions: { 'send-order': action, 'cancel-order': action } },
          credentials: { type: 'none' },
        })
        .expect(201)
    ).body.id as string;
    ledger = (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider: 'test-ledger', name: 'ledger', config: {}, credentials: { type: 'none' } })
        .expect(201)
    ).body.id as string;
  });
  afterAll(async () => {
    await t.close();
    await partner.close();
  });

  const jobCount = async () =>
    ((await t.http().get('/jobs?type=http.action&limit=200').set(admin).expect(200)).body.items as unknown[])
      .length;
  const routeNames = async () =>
    ((await t.http().get('/routes').set(admin).expect(200)).body as { name: string }[]).map((r) => r.name);
  const scheduleNames = async () =>
    (
      (await t.http().get('/schedules?limit=200').set(admin).expect(200)).body.items as { name: string }[]
    ).map((s) => s.name);

  describe('POST /jobs', () => {
    const submit = (payload: object, status: number) =>
      t.http().post('/jobs').set(admin).send({ type: 'http.action', payload }).expect(status);

    it('refuses an action the connection lacks, naming payload.action and the actions it has, and stores no job', async () => {
      const before = await jobCount();
      const refused = await submit({ connectionId: shop, action: 'send-invoice', input: {} }, 422);
      expect(refused.body).toMatchObject({
        error: 'PAYLOAD_REFUSED',
        details: [{ field: 'payload.action', problems: [noSuchAction] }],
      });
      expect(refused.body.message).toContain('payload.action');
      expect(await jobCount()).toBe(before);
    });

    it('refuses a connection that does not exist, or is not an http connection, naming payload.connectionId', async () => {
      const before = await jobCount();
      const missing = randomUUID();
      const unknown = await submit({ connectionId: missing, action: 'send-order', input: {} }, 422);
      expect(unknown.body.details).toEqual([
        { field: 'payload.connectionId', problems: [`no connection has the id ${missing}`] },
      ]);
      const other = await submit({ connectionId: ledger, action: 'send-order', input: {} }, 422);
      expect(other.body.details).toEqual([
        {
          field: 'payload.connectionId',
          problems: ['connection ledger is a test-ledger connection, not an http one'],
        },
      ]);
      expect(await jobCount()).toBe(before);
    });

    it('accepts an action the connection has', async () => {
      const accepted = await submit(
        { connectionId: shop, action: 'send-order', input: { orderId: 'C-1' } },
        201,
      );
      expect(accepted.body).toMatchObject({ type: 'http.action', status: 'queued' });
    });
  });

  describe('routes', () => {
    const route = (name: string, payloadTemplate: object, status: number) =>
      t
        .http()
        .post('/routes')
        .set(admin)
        .send({ name, eventPattern: `${name}.created`, jobType: 'http.action', payloadTemplate })
        .expect(status);

    it('refuses a literal action the connection lacks, naming payloadTemplate.action, and stores nothing', async () => {
      const refused = await route(
        'invoices',
        { connectionId: shop, action: 'send-invoice', input: '{{data}}' },
        422,
      );
      expect(refused.body).toMatchObject({
        error: 'INVALID_ROUTE',
        details: [{ field: 'payloadTemplate.action', problems: [noSuchAction] }],
      });
      const unknown = await route(
        'strays',
        { connectionId: randomUUID(), action: 'send-order', input: '{{data}}' },
        422,
      );
      expect((unknown.body.details as Problem[]).map((d) => d.field)).toEqual([
        'payloadTemplate.connectionId',
      ]);
      // A name where the id belongs is not looked up as an id (PostgreSQL would refuse the query).
      const byName = await route(
        'by-name',
        { connectionId: 'shop', action: 'send-order', input: '{{data}}' },
        422,
      );
      expect(byName.body.details).toEqual([
        { field: 'payloadTemplate.connectionId', problems: ['no connection has the id shop'] },
      ]);
      const names = await routeNames();
      for (const name of ['invoices', 'strays', 'by-name']) expect(names).not.toContain(name);
    });

    it('accepts a route whose action or connection comes from the event, leaving them to job time', async () => {
      await route('by-event', { connectionId: shop, action: '{{data.action}}', input: '{{data}}' }, 201);
      await route(
        'by-event-connection',
        { connectionId: '{{data.connectionId}}', action: 'send-invoice', input: '{{data}}' },
        201,
      );
    });

    it('refuses a PATCH to an action the connection lacks and leaves the route as it was', async () => {
      const made = await route(
        'orders',
        { connectionId: shop, action: 'send-order', input: '{{data}}' },
        201,
      );
      const id = made.body.id as string;
      const refused = await t
        .http()
        .patch(`/routes/${id}`)
        .set(admin)
        .send({ payloadTemplate: { connectionId: shop, action: 'send-invoice', input: '{{data}}' } })
        .expect(422);
      expect(refused.body).toMatchObject({
        error: 'INVALID_ROUTE',
        details: [{ field: 'payloadTemplate.action', problems: [noSuchAction] }],
      });
      const kept = await t.http().get(`/routes/${id}`).set(admin).expect(200);
      expect(kept.body.payloadTemplate).toMatchObject({ action: 'send-order' });
      await t
        .http()
        .patch(`/routes/${id}`)
        .set(admin)
        .send({ payloadTemplate: { connectionId: shop, action: 'cancel-order', input: '{{data}}' } })
        .expect(200);
    });

    it('still fails the job PERMANENT when the connection loses the action after the route was made', async () => {
      const connection = (
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'http',
            name: 'fickle',
            config: { baseUrl: partner.url, actions: { 'send-order': { method: 'POST', path: '/orders' } } },
            credentials: { type: 'none' },
          })
          .expect(201)
      ).body.id as string;
      const made = await route(
        'fickle',
        { connectionId: connection, action: 'send-order', input: '{{data}}' },
        201,
      );
      await t
        .http()
        .patch(`/connections/${connection}`)
        .set(admin)
        .send({ config: { baseUrl: partner.url, actions: {} } })
        .expect(200);
      // The route can still be renamed or disabled; only a new job type or template is checked.
      await t
        .http()
        .patch(`/routes/${made.body.id as string}`)
        .set(admin)
        .send({ name: 'fickle 2' })
        .expect(200);
      const posted = await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'fickle.created', source: 'shop', data: { orderId: 'F-1' } })
        .expect(202);
      const jobId = (posted.body.jobIds as string[])[0];
      const done = await waitFor(
        async () =>
          (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as {
            status: string;
            lastError: { message: string };
          },
        (job) => job.status === 'dead',
        20_000,
      );
      expect(done).toMatchObject({ attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(done.lastError.message).toContain('has no action');
    });
  });

  describe('schedules', () => {
    const schedule = (name: string, payload: object, status: number) =>
      t
        .http()
        .post('/schedules')
        .set(admin)
        .send({ name, cron: '0 3 1 1 *', timezone: 'UTC', jobType: 'http.action', payload })
        .expect(status);

    it('refuses an action the connection lacks on create and change, naming payload.action, and stores nothing', async () => {
      const refused = await schedule(
        'nightly invoices',
        { connectionId: shop, action: 'send-invoice', input: {} },
        422,
      );
      expect(refused.body).toMatchObject({
        error: 'INVALID_SCHEDULE',
        details: [{ field: 'payload.action', problems: [noSuchAction] }],
      });
      expect(await scheduleNames()).not.toContain('nightly invoices');

      const made = await schedule(
        'nightly orders',
        { connectionId: shop, action: 'send-order', input: {} },
        201,
      );
      const changed = await t
        .http()
        .patch(`/schedules/${made.body.id as string}`)
        .set(admin)
        .send({ payload: { connectionId: shop, action: 'send-invoice', input: {} } })
        .expect(422);
      expect(changed.body.details).toEqual([{ field: 'payload.action', problems: [noSuchAction] }]);
      const kept = await t
        .http()
        .get(`/schedules/${made.body.id as string}`)
        .set(admin)
        .expect(200);
      expect(kept.body.payload).toMatchObject({ action: 'send-order' });
    });
  });
});
