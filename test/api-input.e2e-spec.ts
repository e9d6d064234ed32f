import { failingEventInserts } from './support/event-faults.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestJobsModule } from './support/test-jobs.module.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const onPostgres = mode !== 'SQLite';

const NUL = '\u0000';
const refused = (field: string) => `${field} must not contain the NUL character (\\u0000)`;

interface BatchItem {
  index: number;
  status: number;
  eventId?: string;
  error?: { code: string; message: string; details?: unknown };
}

interface BatchResult {
  accepted: number;
  refused: number;
  items: BatchItem[];
}

describe(`API input (${mode})`, () => {
  let t: TestApp;
  const admin = bearer(ADMIN_KEY);

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule] });
  });
  afterAll(() => t.close());

  const eventsFrom = async (source: string): Promise<{ id: string; name: string; data: unknown }[]> =>
    (
      (await t.http().get('/events').query({ source, limit: 200 }).set(admin).expect(200)).body as {
        items: { id: string; name: string; data: unknown }[];
      }
    ).items;

  describe('a NUL character (U+0000) in text', () => {
    it.each([
      ['POST', '/events', { name: 'nul.test', source: `a${NUL}b` }, 'source'],
      [
        'POST',
        '/events',
        { name: 'nul.test', source: 'nul-test', idempotencyKey: `k${NUL}` },
        'idempotencyKey',
      ],
      ['POST', '/jobs', { type: 'test.echo', payload: {}, idempotencyKey: `k${NUL}` }, 'idempotencyKey'],
      ['POST', '/jobs', { type: 'test.echo', payload: {}, concurrencyKey: `k${NUL}` }, 'concurrencyKey'],
      ['POST', '/routes', { name: `r${NUL}`, eventPattern: 'nul.test', jobType: 'test.echo' }, 'name'],
      [
        'POST',
        '/schedules',
        { name: `s${NUL}`, cron: '0 3 * * *', timezone: 'UTC', jobType: 'test.echo' },
        'name',
      ],
      ['PUT', '/event-types/nul.test', { description: `d${NUL}`, schema: { type: 'object' } }, 'description'],
    ] as const)(
      'is a 400 naming the field, not a 500, when %s %s has it in %j',
      async (method, path, body, field) => {
        const call = method === 'PUT' ? t.http().put(path) : t.http().post(path);
        const res = await call.set(admin).send(body).expect(400);
        expect(res.body).toEqual({
          statusCode: 400,
          error: 'VALIDATION_FAILED',
          message: refused(field),
          details: [refused(field)],
        });
      },
    );

    it('stores nothing when an event is refused for it', async () => {
      await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'nul.kept-out', source: `x${NUL}` })
        .expect(400);
      await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'nul.kept-out', source: 'kept-out', idempotencyKey: `k${NUL}` })
        .expect(400);
      expect(await eventsFrom('kept-out')).toEqual([]);
    });

    it.each([
      ['/events', 'source'],
      ['/jobs', 'type'],
      ['/jobs', 'queue'],
    ])('is a 400 naming the filter when GET %s has it in ?%s', async (path, filter) => {
      const res = await t.http().get(`${path}?${filter}=a%00b`).set(admin).expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        error: 'VALIDATION_FAILED',
        message: refused(`query parameter ${filter}`),
      });
    });

    it('is a 400 naming the parameter when a path has it', async () => {
      const res = await t.http().get('/event-types/a%00b').set(admin).expect(400);
      expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED', message: refused('path parameter name') });
    });

    it('is kept inside event data and job payloads, which are any JSON', async () => {
      const data = { note: `a${NUL}b`, list: [NUL], nested: { [`key${NUL}`]: 'v' } };
      const posted = await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'nul.in-data', source: 'nul-data', data })
        .expect(202);
      const bare = await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'nul.in-data', source: 'nul-data', data: `text${NUL}` })
        .expect(202);
      const stored = await eventsFrom('nul-data');
      expect(stored.find((e) => e.id === (posted.body as { eventId: string }).eventId)?.data).toEqual(data);
      expect(stored.find((e) => e.id === (bare.body as { eventId: string }).eventId)?.data).toBe(
        `text${NUL}`,
      );

      const job = await t
        .http()
        .post('/jobs')
        .set(admin)
        .send({ type: 'test.echo', payload: { s: `a${NUL}b` } })
        .expect(201);
      expect((job.body as { payload: unknown }).payload).toEqual({ s: `a${NUL}b` });
    });

    it('refuses only its own item of a batch, and stores the others', async () => {
      const res = await t
        .http()
        .post('/events/batch')
        .set(admin)
        .send({
          events: [
            { name: 'nul.batch', source: 'nul-batch', idempotencyKey: 'first' },
            { name: 'nul.batch', source: 'nul-batch', idempotencyKey: `bad${NUL}` },
            { name: 'nul.batch', source: 'nul-batch', idempotencyKey: 'last' },
          ],
        })
        .expect(200);
      const result = res.body as BatchResult;
      expect(result).toMatchObject({ accepted: 2, refused: 1 });
      expect(result.items[1]).toEqual({
        index: 1,
        status: 400,
        error: { code: 'INVALID_EVENT', message: refused('idempotencyKey') },
      });
      expect(await eventsFrom('nul-batch')).toHaveLength(2);
    });
  });

  describe('text the database cannot store, reaching it through a route', () => {
    // Event data is any JSON and may hold U+0000; a route's concurrency key template copies it into
    // a job's text column, which PostgreSQL would refuse: such a key is stored as its hash.
    it('stores the event on either database, the job keyed by the hash of the key', async () => {
      await t
        .http()
        .post('/routes')
        .set(admin)
        .send({
          name: 'keyed by data',
          eventPattern: 'keyed.by-data',
          jobType: 'test.echo',
          jobOptions: { concurrencyKey: 'k-{{data.k}}' },
        })
        .expect(201);
      const res = await t
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'keyed.by-data', source: 'keyed-one', data: { k: `a${NUL}b` } })
        .expect(202);
      const event = (await t.http().get(`/events/${res.body.eventId}`).set(admin).expect(200)).body;
      const job = (await t.http().get(`/jobs/${event.jobs[0].id}`).set(admin).expect(200)).body;
      expect(job.concurrencyKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    });
  });

  describe('a database error while storing an event', () => {
    it('is a 400 that says what is wrong when PostgreSQL refuses a character, else a 500 with an error id', async () => {
      const heal = await failingEventInserts(t, 'refused-text', '22021');
      try {
        const res = await t
          .http()
          .post('/events')
          .set(admin)
          .send({ name: 'faulty.one', source: 'faulty-one', data: { k: 'refused-text' } })
          .expect(onPostgres ? 400 : 500);
        expect(res.body).toEqual(
          onPostgres
            ? {
                statusCode: 400,
                error: 'BAD_REQUEST',
                message: 'a text value holds a character that cannot be stored, such as NUL (\\u0000)',
              }
            : { statusCode: 500, error: 'INTERNAL', message: 'internal error', errorId: expect.any(String) },
        );
      } finally {
        await heal();
      }
      expect(await eventsFrom('faulty-one')).toHaveLength(0);
    });

    it('fails only its own item of a batch, INTERNAL, while the others keep their results', async () => {
      const heal = await failingEventInserts(t, 'broken-item');
      const events = [
        { name: 'faulty.batch', source: 'faulty-batch', idempotencyKey: 'before', data: { k: 'fine' } },
        {
          name: 'faulty.batch',
          source: 'faulty-batch',
          idempotencyKey: 'broken',
          data: { k: 'broken-item' },
        },
        { name: 'faulty.batch', source: 'faulty-batch', idempotencyKey: 'after', data: { k: 'also-fine' } },
      ];
      let result: BatchResult;
      try {
        result = (await t.http().post('/events/batch').set(admin).send({ events }).expect(200))
          .body as BatchResult;
      } finally {
        await heal();
      }
      const [before, broken, after] = result.items;
      expect(result).toMatchObject({ accepted: 2, refused: 1 });
      expect(before).toMatchObject({ index: 0, status: 202, eventId: expect.any(String) });
      expect(after).toMatchObject({ index: 2, status: 202, eventId: expect.any(String) });
      expect(broken).toEqual({
        index: 1,
        status: 500,
        error: { code: 'INTERNAL', message: 'internal error', details: { errorId: expect.any(String) } },
      });
      const stored = await eventsFrom('faulty-batch');
      expect(stored.map((event) => event.id).sort()).toEqual([before.eventId, after.eventId].sort());
    });
  });
});
