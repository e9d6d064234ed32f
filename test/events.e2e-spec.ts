import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { rawSql } from '../src/database/raw-sql.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestEventHandlersModule } from './support/test-event-handlers.module.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';

interface Ingested {
  eventId: string;
  duplicate: boolean;
  jobIds: string[];
}

interface EventDetails {
  id: string;
  name: string;
  causationDepth: number;
  causedByJob: string | null;
  data: Record<string, unknown>;
  jobs: { id: string; type: string; status: string }[];
}

interface JobBody {
  id: string;
  type: string;
  status: string;
  payload: unknown;
  result: unknown;
  progress: number | null;
  eventId: string | null;
  priority: number;
  concurrencyKey: string | null;
}

describe(`events (${mode})`, () => {
  let t: TestApp;
  const admin = bearer(ADMIN_KEY);

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule, TestEventHandlersModule] });
  });
  afterAll(() => t.close());

  const post = async (body: object, status = 202): Promise<Ingested> =>
    (await t.http().post('/events').set(admin).send(body).expect(status)).body as Ingested;
  const route = async (body: object, status = 201): Promise<{ id: string }> =>
    (await t.http().post('/routes').set(admin).send(body).expect(status)).body as { id: string };
  const getEvent = async (id: string): Promise<EventDetails> =>
    (await t.http().get(`/events/${id}`).set(admin).expect(200)).body as EventDetails;
  const getJob = async (id: string): Promise<JobBody> =>
    (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;
  const jobsSettled = (id: string) =>
    waitFor(
      () => getEvent(id),
      (event) => event.jobs.every((job) => ['succeeded', 'dead'].includes(job.status)),
    );
  const eventsNamed = async (name: string): Promise<{ id: string; data: unknown }[]> =>
    (
      (await t.http().get('/events').query({ name, limit: 200 }).set(admin).expect(200)).body as {
        items: { id: string; data: unknown }[];
      }
    ).items;

  it('routes an event to a job that runs with the mapped payload and options', async () => {
    await route({
      name: 'orders to partner',
      eventPattern: 'order.created',
      jobType: 'test.echo',
      payloadTemplate: { order: '{{data.orderId}}', lines: '{{data.lines}}', note: 'from {{source}}' },
      jobOptions: { priority: 7, concurrencyKey: 'acct-{{data.accountId}}' },
    });
    const ingested = await post({
      name: 'order.created',
      source: 'shop',
      data: { orderId: 'A-1', accountId: 42, lines: [{ sku: 'X', qty: 2 }] },
    });
    expect(ingested.duplicate).toBe(false);
    expect(ingested.jobIds).toHaveLength(1);

    const event = await jobsSettled(ingested.eventId);
    expect(event.jobs).toEqual([expect.objectContaining({ id: ingested.jobIds[0], status: 'succeeded' })]);
    const job = await getJob(ingested.jobIds[0]);
    expect(job).toMatchObject({ eventId: ingested.eventId, priority: 7, concurrencyKey: 'acct-42' });
    expect(job.result).toMatchObject({
      echoed: { order: 'A-1', lines: [{ sku: 'X', qty: 2 }], note: 'from shop' },
    });
  });

  it('passes the whole event when a route has no payload template', async () => {
    await route({ name: 'whole', eventPattern: 'whole.thing', jobType: 'test.echo' });
    const { eventId, jobIds } = await post({ name: 'whole.thing', source: 'erp', data: { n: 1 } });
    const job = await getJob(jobIds[0]);
    expect(job.payload).toMatchObject({ id: eventId, name: 'whole.thing', source: 'erp', data: { n: 1 } });
  });

  it('returns the first event and starts no job when a source repeats an idempotency key', async () => {
    await route({ name: 'dedup', eventPattern: 'dedup.*', jobType: 'test.echo' });
    const first = await post({ name: 'dedup.test', source: 'shop', idempotencyKey: 'k-1', data: { v: 1 } });
    const again = await post({ name: 'dedup.test', source: 'shop', idempotencyKey: 'k-1', data: { v: 2 } });
    expect(again).toEqual({ eventId: first.eventId, duplicate: true, jobIds: [] });
    const otherSource = await post({ name: 'dedup.test', source: 'erp', idempotencyKey: 'k-1' });
    expect(otherSource.eventId).not.toBe(first.eventId);

    const stored = await eventsNamed('dedup.test');
    expect(stored).toHaveLength(2);
    expect((await getEvent(first.eventId)).jobs).toHaveLength(1);
    expect((await getEvent(first.eventId)).data).toEqual({ v: 1 });
  });

  it('starts one job per matching route: three routes, three jobs', async () => {
    await route({ name: 'fan exact', eventPattern: 'fan.out.now', jobType: 'test.echo' });
    await route({ name: 'fan star', eventPattern: 'fan.out.*', jobType: 'test.echo' });
    await route({ name: 'fan globstar', eventPattern: 'fan.**', jobType: 'test.echo' });
    await route({ name: 'fan other', eventPattern: 'fan.in.*', jobType: 'test.echo' });
    await route({ name: 'fan disabled', eventPattern: 'fan.**', jobType: 'test.echo', enabled: false });
    const { eventId, jobIds } = await post({ name: 'fan.out.now', source: 'shop' });
    expect(jobIds).toHaveLength(3);
    const event = await jobsSettled(eventId);
    expect(event.jobs.map((job) => job.id).sort()).toEqual([...jobIds].sort());
    expect(event.jobs.every((job) => job.status === 'succeeded')).toBe(true);
  });

  it('starts a job only for events that pass the route filter', async () => {
    await route({
      name: 'big orders',
      eventPattern: 'invoice.issued',
      filter: { 'data.total': { $gt: 100 }, source: { $in: ['shop', 'erp'] } },
      jobType: 'test.echo',
    });
    expect(
      (await post({ name: 'invoice.issued', source: 'shop', data: { total: 120 } })).jobIds,
    ).toHaveLength(1);
    expect((await post({ name: 'invoice.issued', source: 'shop', data: { total: 50 } })).jobIds).toHaveLength(
      0,
    );
    expect((await post({ name: 'invoice.issued', source: 'pos', data: { total: 500 } })).jobIds).toHaveLength(
      0,
    );
  });

  it('refuses data that breaks the event type schema with each violation, storing nothing', async () => {
    await t
      .http()
      .put('/event-types/customer.signed-up')
      .set(admin)
      .send({
        description: 'A new customer',
        schema: {
          type: 'object',
          required: ['email', 'plan'],
          properties: { email: { type: 'string', format: 'email' }, plan: { enum: ['free', 'pro'] } },
          additionalProperties: false,
        },
      })
      .expect(200);
    const res = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: 'customer.signed-up', source: 'site', data: { email: 'not-an-email', extra: 1 } })
      .expect(422);
    expect(res.body).toMatchObject({ error: 'SCHEMA_MISMATCH' });
    const violations = (res.body as { details: { path: string; message: string }[] }).details;
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: '',
          message: expect.stringContaining("must have required property 'plan'"),
        }),
        expect.objectContaining({ path: '/email', message: expect.stringContaining('format') }),
        expect.objectContaining({ message: expect.stringContaining('(extra)') }),
      ]),
    );
    expect(await eventsNamed('customer.signed-up')).toHaveLength(0);

    await post({ name: 'customer.signed-up', source: 'site', data: { email: 'a@b.co', plan: 'pro' } });
    const types = (await t.http().get('/event-types').set(admin).expect(200)).body as {
      name: string;
      count: number;
      lastSeenAt: string | null;
      schema: unknown;
    }[];
    expect(types.find((type) => type.name === 'customer.signed-up')).toMatchObject({ count: 1 });
    expect(types.find((type) => type.name === 'order.created')).toMatchObject({ count: 1, schema: null });
    expect(types.find((type) => type.name === 'order.created')!.lastSeenAt).not.toBeNull();
  });

  it('refuses an event type whose schema is not JSON Schema', async () => {
    const res = await t
      .http()
      .put('/event-types/broken.schema')
      .set(admin)
      .send({ description: 'x', schema: { type: 'nonsense' } })
      .expect(422);
    expect(res.body).toMatchObject({ error: 'INVALID_SCHEMA', details: [{ field: 'schema' }] });
  });

  it('refuses bad names, oversized data and bad bodies', async () => {
    const bad = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: 'Order Created', source: 's' })
      .expect(400);
    expect(bad.body).toMatchObject({ error: 'INVALID_EVENT_NAME' });
    const huge = { blob: 'x'.repeat(300 * 1024) };
    const large = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: 'big.one', source: 's', data: huge });
    expect(large.status).toBe(422);
    expect(large.body).toMatchObject({ error: 'EVENT_TOO_LARGE' });
    await t.http().post('/events').set(admin).send({ name: 'x.y' }).expect(400);
  });

  it('refuses a body nested deeper than 64 levels with a 400, and takes one 50 deep', async () => {
    const nested = (depth: number): unknown => {
      let data: unknown = 1;
      for (let i = 0; i < depth; i++) data = [data];
      return data;
    };
    const deep = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: 'deep.one', source: 's', data: nested(2000) })
      .expect(400);
    expect(deep.body).toEqual({
      statusCode: 400,
      error: 'BAD_REQUEST',
      message: 'the JSON body nests deeper than 64 levels',
    });
    const fine = await post({ name: 'deep.one', source: 's', data: nested(50) });
    expect((await getEvent(fine.eventId)).data).toEqual(nested(50));
  });

  it('stores each good item of a batch and reports each bad one', async () => {
    await t
      .http()
      .put('/event-types/batch.item')
      .set(admin)
      .send({ description: 'x', schema: { type: 'object', required: ['n'] } })
      .expect(200);
    await route({ name: 'batch', eventPattern: 'batch.item', jobType: 'test.echo' });
    const res = await t
      .http()
      .post('/events/batch')
      .set(admin)
      .send({
        events: [
          { name: 'batch.item', source: 'erp', data: { n: 1 } },
          { name: 'batch.item', source: 'erp', data: { wrong: true } },
          { name: 'batch.item' },
          { name: 'batch.item', source: 'erp', data: { n: 3 } },
        ],
      })
      .expect(200);
    const body = res.body as {
      accepted: number;
      refused: number;
      items: { index: number; status: number }[];
    };
    expect(body).toMatchObject({ accepted: 2, refused: 2 });
    expect(body.items.map((item) => item.status)).toEqual([202, 422, 400, 202]);
    expect(body.items[1]).toMatchObject({ error: { code: 'SCHEMA_MISMATCH' } });
    expect(body.items[2]).toMatchObject({ error: { code: 'INVALID_EVENT' } });
    expect(body.items[0]).toMatchObject({ jobIds: [expect.any(String)] });
    expect(await eventsNamed('batch.item')).toHaveLength(2);
    await t.http().post('/events/batch').set(admin).send({ events: [] }).expect(400);
  });

  it('stores nothing when starting the jobs fails: the event and its jobs commit together', async () => {
    await route({ name: 'atomic', eventPattern: 'atomic.test', jobType: 'test.echo' });
    const jobs = t.app.get(JobsService);
    const spy = jest.spyOn(jobs, 'enqueueMany').mockRejectedValueOnce(new Error('simulated crash'));
    try {
      await t.http().post('/events').set(admin).send({ name: 'atomic.test', source: 's' }).expect(500);
    } finally {
      spy.mockRestore();
    }
    expect(await eventsNamed('atomic.test')).toHaveLength(0);
    const stored = await post({ name: 'atomic.test', source: 's' });
    expect(stored.jobIds).toHaveLength(1);
  });

  it('replays one event: new jobs linked to the original', async () => {
    await route({ name: 'replay one', eventPattern: 'replay.one', jobType: 'test.echo' });
    const { eventId, jobIds } = await post({ name: 'replay.one', source: 's' });
    const res = await t.http().post(`/events/${eventId}/replay`).set(admin).expect(202);
    const replayed = res.body as { eventId: string; jobIds: string[] };
    expect(replayed.eventId).toBe(eventId);
    expect(replayed.jobIds).toHaveLength(1);
    expect(replayed.jobIds[0]).not.toBe(jobIds[0]);
    const event = await jobsSettled(eventId);
    expect(event.jobs.map((job) => job.id)).toEqual([jobIds[0], replayed.jobIds[0]]);
    await t.http().post(`/events/00000000-0000-7000-8000-000000000000/replay`).set(admin).expect(404);
  });

  it('replays the events of a pattern and time range as a job that reports progress', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const ids = [];
    for (let i = 0; i < 5; i++)
      ids.push((await post({ name: `bulk.replay.e${i % 2}`, source: 's' })).eventId);
    await post({ name: 'bulk.other', source: 's' });
    await route({ name: 'bulk', eventPattern: 'bulk.replay.*', jobType: 'test.echo' });
    const to = new Date(Date.now() + 1000).toISOString();

    const res = await t.http().post('/events/replay').set(admin).send({ pattern: 'bulk.replay.*', from, to });
    expect(res.status).toBe(202);
    const job = await waitFor(
      () => getJob((res.body as { jobId: string }).jobId),
      (j) => j.status === 'succeeded',
    );
    expect(job.progress).toBe(100);
    expect(job.result).toMatchObject({ replayed: 5, jobs: 5 });
    for (const id of ids) expect((await getEvent(id)).jobs).toHaveLength(1);

    const bad = await t.http().post('/events/replay').set(admin).send({ pattern: 'bulk..x', from, to });
    expect(bad.status).toBe(422);
  });

  it('refuses routes with an unknown job type, a bad pattern, filter or template, naming each field', async () => {
    const res = await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: 'broken',
        eventPattern: 'order..x',
        filter: { 'data.total': { $bogus: 1 } },
        jobType: 'no.such-type',
        payloadTemplate: { a: '{{secret.key}}' },
      })
      .expect(422);
    expect(res.body).toMatchObject({ error: 'INVALID_ROUTE' });
    const fields = (res.body as { details: { field: string }[] }).details.map((d) => d.field);
    expect(fields).toEqual(['eventPattern', 'filter', 'jobType', 'payloadTemplate']);
    await route({ name: 'fan star', eventPattern: 'x.y', jobType: 'test.echo' }, 409);
  });

  it('refuses a route filter with $where, which would run its string as code in the server', async () => {
    const refused = await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: 'where',
        eventPattern: 'where.a',
        filter: { $or: [{ $where: '(globalThis.__routeWhereRan = true)' }] },
        jobType: 'test.echo',
      })
      .expect(422);
    expect(refused.body.details).toEqual([
      { field: 'filter', problems: [expect.stringContaining('$where')] },
    ]);
    await post({ name: 'where.a', source: 's', data: {} });
    expect((globalThis as Record<string, unknown>).__routeWhereRan).toBeUndefined();
  });

  it('updates, lists and deletes stored routes; code routes are listed and read-only', async () => {
    const { id } = await route({ name: 'crud', eventPattern: 'crud.a', jobType: 'test.echo' });
    const patched = await t
      .http()
      .patch(`/routes/${id}`)
      .set(admin)
      .send({ eventPattern: 'crud.b' })
      .expect(200);
    expect(patched.body).toMatchObject({ id, eventPattern: 'crud.b', origin: 'api' });
    expect((await post({ name: 'crud.a', source: 's' })).jobIds).toHaveLength(0);
    expect((await post({ name: 'crud.b', source: 's' })).jobIds).toHaveLength(1);
    await t.http().delete(`/routes/${id}`).set(admin).expect(204);
    expect((await post({ name: 'crud.b', source: 's' })).jobIds).toHaveLength(0);

    const routes = (await t.http().get('/routes').set(admin).expect(200)).body as {
      id: string;
      origin: string;
    }[];
    const code = routes.filter((r) => r.origin === 'code').map((r) => r.id);
    expect(code).toEqual(['code:test.on-shipment:shipment.*', 'code:test.on-shipment:parcel.**']);
    await t.http().patch(`/routes/${code[0]}`).set(admin).send({ enabled: false }).expect(409);
    await t
      .http()
      .get(`/routes/${encodeURIComponent(code[0])}`)
      .set(admin)
      .expect(200);
    await t.http().delete('/routes/00000000-0000-7000-8000-000000000000').set(admin).expect(404);
  });

  it('routes events to handlers that declare them in code', async () => {
    const { eventId, jobIds } = await post({ name: 'shipment.sent', source: 'carrier' });
    expect(jobIds).toHaveLength(1);
    await jobsSettled(eventId);
    expect((await getJob(jobIds[0])).result).toBe('saw shipment.sent');
    expect((await post({ name: 'parcel.scan.hub', source: 'carrier' })).jobIds).toHaveLength(1);
  });

  it('purges old events and finished jobs at retention, never an event whose jobs are unfinished', async () => {
    await route({ name: 'keep.done', eventPattern: 'keep.done', jobType: 'test.echo' });
    await route({
      name: 'keep.later',
      eventPattern: 'keep.later',
      jobType: 'test.echo',
      jobOptions: { delayMs: 3_600_000 },
    });
    const done = await post({ name: 'keep.done', source: 's' });
    const waiting = await post({ name: 'keep.later', source: 's' });
    const bare = await post({ name: 'keep.bare', source: 's' });
    await jobsSettled(done.eventId);
    const recent = await post({ name: 'keep.bare', source: 's' });

    // Age them past JUNCTION_RETENTION_DAYS (30 by default).
    const manager = t.app.get(DataSource).manager;
    const old = new Date(Date.now() - 40 * 24 * 3_600_000);
    const aged = [done.eventId, waiting.eventId, bare.eventId];
    await rawSql(manager, `UPDATE event SET received_at = ? WHERE id IN (?, ?, ?)`, [old, ...aged]);
    await rawSql(manager, `UPDATE job SET finished_at = ? WHERE id = ?`, [old, done.jobIds[0]]);

    const schedules = (await t.http().get('/schedules').set(admin).expect(200)).body as {
      items: { id: string; name: string }[];
    };
    const retention = schedules.items.find((schedule) => schedule.name === 'junction.retention')!;
    const { jobId } = (await t.http().post(`/schedules/${retention.id}/trigger`).set(admin).expect(201))
      .body as {
      jobId: string;
    };
    const job = await waitFor(
      () => getJob(jobId),
      (j) => j.status === 'succeeded',
    );
    expect(job.result).toMatchObject({ events: 2 });

    await t.http().get(`/events/${done.eventId}`).set(admin).expect(404);
    await t.http().get(`/events/${bare.eventId}`).set(admin).expect(404);
    await t.http().get(`/jobs/${done.jobIds[0]}`).set(admin).expect(404);
    const kept = await getEvent(waiting.eventId);
    expect(kept.jobs).toEqual([expect.objectContaining({ id: waiting.jobIds[0], status: 'queued' })]);
    await getEvent(recent.eventId);
  });

  it('lets only operators post events and only admins change routes', async () => {
    const viewer = await keyWithRole(t, 'viewer');
    const operator = await keyWithRole(t, 'operator');
    await t.http().post('/events').set(viewer).send({ name: 'a.b', source: 's' }).expect(403);
    await t.http().post('/events').set(operator).send({ name: 'a.b', source: 's' }).expect(202);
    await t.http().get('/events').set(viewer).expect(200);
    await t
      .http()
      .post('/routes')
      .set(operator)
      .send({ name: 'r', eventPattern: 'a.b', jobType: 'test.echo' })
      .expect(403);
  });
});

describe(`job outcomes as events (${mode})`, () => {
  let t: TestApp;
  const admin = bearer(ADMIN_KEY);

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule] });
  });
  afterAll(() => t.close());

  const events = async (name: string) =>
    (
      (await t.http().get('/events').query({ name, limit: 200 }).set(admin).expect(200)).body as {
        items: {
          id: string;
          causationDepth: number;
          causedByJob: string;
          source: string;
          data: Record<string, unknown>;
        }[];
      }
    ).items;

  it('emits job.dead for a job that ends dead, for a route to react to', async () => {
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({ name: 'doomed', eventPattern: 'doomed.work', jobType: 'test.permanent' })
      .expect(201);
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({ name: 'alert', eventPattern: 'job.dead', jobType: 'test.echo' })
      .expect(201);
    const { jobIds } = (
      await t.http().post('/events').set(admin).send({ name: 'doomed.work', source: 's' }).expect(202)
    ).body as Ingested;
    const [dead] = await waitFor(
      () => events('job.dead'),
      (found) => found.length === 1,
    );
    expect(dead).toMatchObject({
      source: 'junction',
      causationDepth: 1,
      causedByJob: jobIds[0],
      data: { jobId: jobIds[0], type: 'test.permanent', error: { code: 'PERMANENT' } },
    });
    const details = await waitFor(
      async () => (await t.http().get(`/events/${dead.id}`).set(admin).expect(200)).body as EventDetails,
      (event) => event.jobs.length === 1 && event.jobs[0].status === 'succeeded',
    );
    expect(details.jobs[0].type).toBe('test.echo');
  });

  it('stops a route that reacts to its own outcome at causation depth 8', async () => {
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({ name: 'loop start', eventPattern: 'loop.start', jobType: 'test.echo' })
      .expect(201);
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({ name: 'loop', eventPattern: 'job.succeeded', jobType: 'test.echo' })
      .expect(201);
    await t.http().post('/events').set(admin).send({ name: 'loop.start', source: 's' }).expect(202);
    const chain = await waitFor(
      () => events('job.succeeded'),
      (found) => found.length >= 8,
    );
    // The ninth would be 9 deep: give it time to appear if the limit did not hold.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const final = await events('job.succeeded');
    expect(final.map((event) => event.causationDepth).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(chain.length).toBe(8);
  });
});
