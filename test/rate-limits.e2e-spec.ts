import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const LIMIT = { requests: 5, perMs: 1000 };
const ORDERS = 20;
/**
 * The budget counts a call when it is taken; the fake counts it when it arrives. Between the two
 * the request is sent by a busy process (two cores, 20 jobs at once, and since the suites run two
 * at a time another suite beside it): with 25 ms of slack one CI run saw a sixth arrival inside a
 * window, with 150 ms one run saw a seventh, so windows are checked this much shorter. A budget
 * that let a burst through would still put far more than five calls in 700 ms.
 */
const SKEW_MS = 300;

interface JobBody {
  id: string;
  status: string;
  attempt: number;
  maxAttempts: number;
  attempts: { attempt: number; worker: string; outcome: string; errorCode: string | null }[];
}

/**
 * One connection's rate budget, shared by every job that calls through it. On PostgreSQL + Redis
 * two app instances (each its own worker and its own RateBudgets) share the work and the budget,
 * kept in Redis; otherwise one process keeps it in memory.
 */
describe('rate limits per connection', () => {
  let database: TestDatabase;
  let apps: TestApp[] = [];
  let partner: FakePartner;

  beforeAll(async () => {
    partner = await startFakePartner();
    database = await TestDatabase.create();
    apps.push(await startTestApp({ database }));
    if (database.kind === 'postgres' && database.redisUrl) apps.push(await startTestApp({ database }));
  });
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
    apps = [];
    await database.drop();
    await partner.close();
  });

  it(`holds ${LIMIT.requests} calls per second across every worker, deferring the jobs that find the budget spent`, async () => {
    const [t] = apps;
    const connection = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: 'limited shop',
        config: {
          baseUrl: partner.url,
          rateLimit: LIMIT,
          actions: {
            'send-order': { method: 'POST', path: '/orders', body: { reference: '{{input.orderId}}' } },
          },
        },
        credentials: { type: 'none' },
      })
      .expect(201);
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: 'limited orders',
        eventPattern: 'limited.created',
        jobType: 'http.action',
        payloadTemplate: {
          connectionId: connection.body.id as string,
          action: 'send-order',
          input: '{{data}}',
        },
      })
      .expect(201);

    // Warm every app's path to the partner and its event intake first, so the orders below are
    // taken in as one burst: a cold start spreading them over a second would test less.
    for (const app of apps) {
      await app
        .http()
        .post(`/connections/${connection.body.id as string}/test`)
        .set(admin)
        .expect(200);
      await app
        .http()
        .post('/events')
        .set(admin)
        .send({ name: 'warm.up', source: 'shop', data: {} })
        .expect(202);
    }

    // All at once (through the app that made the route, which routes with it at once); every
    // app's worker takes its share of the jobs.
    const posted = await Promise.all(
      Array.from({ length: ORDERS }, (_, i) =>
        t
          .http()
          .post('/events')
          .set(admin)
          .send({ name: 'limited.created', source: 'shop', data: { orderId: `L-${i}` } })
          .expect(202),
      ),
    );
    const jobIds = posted.map((response) => (response.body.jobIds as string[])[0]);

    const jobs = await waitFor(
      () =>
        Promise.all(
          jobIds.map(
            async (id) => (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody,
          ),
        ),
      (found) => found.every((job) => ['succeeded', 'dead'].includes(job.status)),
      30_000,
      200,
    );

    expect(jobs.filter((job) => job.status !== 'succeeded')).toEqual([]);
    if (apps.length > 1) {
      const workers = new Set(jobs.flatMap((job) => job.attempts.map((a) => a.worker)));
      expect(workers.size).toBeGreaterThan(1);
    }
    const deferred = jobs.filter((job) => job.attempts.some((a) => a.outcome === 'deferred'));
    expect(deferred.length).toBeGreaterThan(0);
    for (const job of deferred) {
      // A deferral spends nothing: the job still has all its failures to spend.
      const deferrals = job.attempts.filter((a) => a.outcome === 'deferred');
      expect(deferrals.every((a) => a.errorCode === 'DEFERRED')).toBe(true);
      expect(job.maxAttempts).toBe(8 + deferrals.length);
    }

    const orders = partner.requests
      .filter((r) => r.method === 'POST' && r.path === '/orders')
      .map((r) => r.at.getTime())
      .sort((a, b) => a - b);
    expect(orders).toHaveLength(ORDERS);
    // No window of a second, wherever it starts, holds more than the limit.
    const busiest = Math.max(
      ...orders.map(
        (start) => orders.filter((at) => at >= start && at < start + LIMIT.perMs - SKEW_MS).length,
      ),
    );
    expect(busiest).toBeLessThanOrEqual(LIMIT.requests);
    // 20 calls at 5 a second take at least three windows.
    expect(orders[orders.length - 1] - orders[0]).toBeGreaterThanOrEqual(3 * LIMIT.perMs - SKEW_MS);
  });
});
