import { startFakePartner } from './fakes/partner.js';
import type { FakePartner, Shipment } from './fakes/partner.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const TOKEN = 'partner-poll-token-5d1e0a77WXYZ';

interface JobBody {
  id: string;
  status: string;
  attempt: number;
  result: unknown;
  lastError: { code: string; message: string } | null;
  attempts: { outcome: string }[];
  logs: { message: string }[];
}

interface ScheduleBody {
  id: string;
  name: string;
  cron: string;
  jobType: string;
  payload: unknown;
  enabled: boolean;
}

interface EventBody {
  name: string;
  source: string;
  idempotencyKey: string;
  data: Shipment;
}

/** The pollers of an `http` connection: schedules that follow the connection, and events once per change. */
describe('http pollers against a partner', () => {
  let t: TestApp;
  let serial = 0;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A partner of its own per test, so each test's shipments and requests are its own. */
  async function partnerWith(...shipments: Shipment[]): Promise<FakePartner> {
    const partner = await startFakePartner({ token: TOKEN });
    partner.addShipments(...shipments);
    return partner;
  }

  function pollerConfig(partner: FakePartner, cron = '*/5 * * * *') {
    return {
      baseUrl: partner.url,
      pollers: {
        shipments: {
          path: '/shipments',
          query: { updated_since: '{{cursor}}' },
          items: 'data.shipments',
          id: 'id',
          cursor: 'updated_at',
          event: 'shipment.updated',
          cron,
          nextPage: { from: 'next_cursor', param: 'cursor' },
        },
      },
    };
  }

  async function connect(partner: FakePartner, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: `carrier${++serial}`,
        config: pollerConfig(partner),
        credentials: { type: 'bearer', token: TOKEN },
        ...extra,
      })
      .expect(201);
    return created.body.id as string;
  }

  async function schedulesOf(connectionId: string): Promise<ScheduleBody[]> {
    const page = await t.http().get('/schedules?limit=200').set(admin).expect(200);
    return (page.body.items as ScheduleBody[]).filter((s) =>
      s.name.startsWith(`connection:${connectionId}:`),
    );
  }

  /** Fires the connection's poller now, as an operator's trigger does; returns the job's id. */
  async function trigger(connectionId: string): Promise<string> {
    const [schedule] = await schedulesOf(connectionId);
    const fired = await t.http().post(`/schedules/${schedule.id}/trigger`).set(admin).expect(201);
    return fired.body.jobId as string;
  }

  function finished(jobId: string): Promise<JobBody> {
    return waitFor(
      async () => (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as JobBody,
      (job) => ['succeeded', 'dead'].includes(job.status),
      20_000,
    );
  }

  async function poll(connectionId: string): Promise<JobBody> {
    return finished(await trigger(connectionId));
  }

  async function eventsOf(connectionId: string): Promise<EventBody[]> {
    const source = encodeURIComponent(`connection:${connectionId}`);
    const page = await t.http().get(`/events?source=${source}&limit=200`).set(admin).expect(200);
    return page.body.items as EventBody[];
  }

  const shipment = (n: number, status = 'in_transit', day = n): Shipment => ({
    id: `shp_${n}`,
    order_id: `ord_${n}`,
    status,
    updated_at: `2026-12-0${day}T10:00:00.000Z`,
  });

  it('keeps one schedule per poller in step with the connection: created, changed, paused, deleted', async () => {
    const partner = await partnerWith();
    try {
      const id = await connect(partner);
      const [created] = await schedulesOf(id);
      expect(created).toMatchObject({
        name: `connection:${id}:poll:shipments`,
        cron: '*/5 * * * *',
        jobType: 'http.poll',
        payload: { connectionId: id, poller: 'shipments' },
        enabled: true,
      });

      await t
        .http()
        .patch(`/connections/${id}`)
        .set(admin)
        .send({ config: pollerConfig(partner, '0 * * * *') })
        .expect(200);
      expect(await schedulesOf(id)).toEqual([expect.objectContaining({ id: created.id, cron: '0 * * * *' })]);

      await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
      expect((await schedulesOf(id))[0].enabled).toBe(false);
      await t.http().post(`/connections/${id}/resume`).set(admin).expect(200);
      expect((await schedulesOf(id))[0].enabled).toBe(true);

      await t
        .http()
        .patch(`/connections/${id}`)
        .set(admin)
        .send({ config: { baseUrl: partner.url } })
        .expect(200);
      expect(await schedulesOf(id)).toEqual([]);

      await t
        .http()
        .patch(`/connections/${id}`)
        .set(admin)
        .send({ config: pollerConfig(partner) })
        .expect(200);
      expect(await schedulesOf(id)).toHaveLength(1);
      await t.http().delete(`/connections/${id}`).set(admin).expect(204);
      expect(await schedulesOf(id)).toEqual([]);
    } finally {
      await partner.close();
    }
  });

  it('emits one event per new or changed item, follows the pages, and emits nothing for unchanged data', async () => {
    const partner = await partnerWith(shipment(1), shipment(2), shipment(3), shipment(4), shipment(5));
    try {
      const id = await connect(partner);
      const first = await poll(id);
      expect(first).toMatchObject({
        status: 'succeeded',
        result: { pages: 3, items: 5, emitted: 5, cursor: '2026-12-05T10:00:00.000Z' },
      });
      const events = await eventsOf(id);
      expect(events).toHaveLength(5);
      expect(events.map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_2', 'shp_3', 'shp_4', 'shp_5']);
      expect(events.every((e) => e.name === 'shipment.updated' && e.source === `connection:${id}`)).toBe(
        true,
      );
      expect(new Set(events.map((e) => e.idempotencyKey)).size).toBe(5);
      const firstRequests = partner.requests.filter((r) => r.path === '/shipments');
      // No cursor yet: no updated_since; then the partner's page tokens.
      expect(firstRequests.map((r) => r.query)).toEqual([
        {},
        { cursor: expect.any(String) },
        { cursor: expect.any(String) },
      ]);
      expect(firstRequests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);

      // The partner answers updated_since inclusively, so the last shipment comes again, unchanged.
      const again = await poll(id);
      expect(again).toMatchObject({ status: 'succeeded', result: { items: 1, emitted: 0 } });
      expect(partner.requests.at(-1)!.query).toEqual({ updated_since: '2026-12-05T10:00:00.000Z' });
      expect(await eventsOf(id)).toHaveLength(5);

      // One shipment changes, one is new: two events, the changed one under a new key.
      partner.addShipments({ ...shipment(3, 'delivered', 6) }, shipment(7, 'in_transit', 7));
      const third = await poll(id);
      expect(third).toMatchObject({ status: 'succeeded', result: { emitted: 2 } });
      const after = await eventsOf(id);
      expect(after).toHaveLength(7);
      expect(
        after
          .filter((e) => e.data.id === 'shp_3')
          .map((e) => e.data.status)
          .sort(),
      ).toEqual(['delivered', 'in_transit']);
    } finally {
      await partner.close();
    }
  });

  /** Six shipments, one a page, for a connection allowed three calls a second. */
  async function pagedBeyondBudget(withCursor: boolean): Promise<{ partner: FakePartner; id: string }> {
    const partner = await startFakePartner({ token: TOKEN, pageSize: 1 });
    partner.addShipments(...[1, 2, 3, 4, 5, 6].map((n) => shipment(n)));
    const { cursor, query, ...poller } = pollerConfig(partner).pollers.shipments;
    const id = await connect(partner, {
      config: {
        baseUrl: partner.url,
        rateLimit: { requests: 3, perMs: 1000 },
        pollers: { shipments: withCursor ? { ...poller, cursor, query } : poller },
      },
    });
    return { partner, id };
  }

  it.each([
    { withCursor: false, cursor: null, label: 'without a cursor field' },
    { withCursor: true, cursor: '2026-12-06T10:00:00.000Z', label: 'with a cursor field' },
  ])(
    'reads each page once when a poll has more pages than its rate budget allows at a time, $label',
    async ({ withCursor, cursor }) => {
      const { partner, id } = await pagedBeyondBudget(withCursor);
      try {
        const done = await poll(id);
        expect(done).toMatchObject({
          status: 'succeeded',
          result: { pages: 6, items: 6, emitted: 6, cursor },
        });
        // The budget was spent midway, so the job was put back at least once.
        expect(done.attempts.some((a) => a.outcome === 'deferred')).toBe(true);
        const events = await eventsOf(id);
        expect(events.map((e) => e.data.id).sort()).toEqual([
          'shp_1',
          'shp_2',
          'shp_3',
          'shp_4',
          'shp_5',
          'shp_6',
        ]);
        // Each run went on from the page the one before stopped at, with the query the poll started with.
        const queries = partner.requests.filter((r) => r.path === '/shipments').map((r) => r.query);
        expect(queries).toHaveLength(6);
        const [first, ...rest] = queries;
        expect(first).toEqual({});
        // The later pages by their tokens alone (no updated_since), none of them twice.
        expect(rest.map((query) => Object.keys(query))).toEqual(rest.map(() => ['cursor']));
        expect(new Set(rest.map((query) => query.cursor)).size).toBe(5);
      } finally {
        await partner.close();
      }
    },
  );

  it('keeps the events of the pages read when a later page fails, and the retry goes on from that page', async () => {
    const partner = await partnerWith(shipment(1), shipment(2), shipment(3), shipment(4));
    try {
      const id = await connect(partner);
      // The first page is answered, the second fails once.
      partner.answerNext({ kind: 'status', status: 503 }, 1, 1);
      const done = await poll(id);
      expect(done).toMatchObject({
        status: 'succeeded',
        attempt: 2,
        result: { pages: 2, items: 4, emitted: 4, cursor: '2026-12-04T10:00:00.000Z' },
      });
      const events = await eventsOf(id);
      expect(events.map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_2', 'shp_3', 'shp_4']);
      const queries = partner.requests.filter((r) => r.path === '/shipments').map((r) => r.query);
      // The retry asked again for the page that failed, by its token; the first page was not read again.
      expect(queries).toEqual([{}, { cursor: expect.any(String) }, queries[1]]);
      // Each page stored its cursor: the next poll asks from the last one.
      await poll(id);
      expect(partner.requests.at(-1)!.query).toEqual({ updated_since: '2026-12-04T10:00:00.000Z' });
    } finally {
      await partner.close();
    }
  });

  it('stops polling a connection its partner refuses, until it has new credentials', async () => {
    const partner = await partnerWith(shipment(1));
    try {
      const id = await connect(partner, { credentials: { type: 'bearer', token: 'not-the-partner-token' } });
      const refused = await poll(id);
      expect(refused).toMatchObject({ status: 'dead', lastError: { code: 'AUTH' } });
      expect((await schedulesOf(id))[0].enabled).toBe(false);
      await t
        .http()
        .put(`/connections/${id}/credentials`)
        .set(admin)
        .send({ credentials: { type: 'bearer', token: TOKEN } })
        .expect(200);
      expect((await schedulesOf(id))[0].enabled).toBe(true);
      expect(await poll(id)).toMatchObject({ status: 'succeeded', result: { emitted: 1 } });
    } finally {
      await partner.close();
    }
  });

  it('sends a cursor the partner gave in the path as one encoded segment, empty before the first poll', async () => {
    const partner = await partnerWith();
    try {
      const base = pollerConfig(partner).pollers.shipments;
      const id = await connect(partner, {
        config: {
          baseUrl: partner.url,
          pollers: {
            shipments: { ...base, path: '/changes/{{cursor}}', query: undefined, nextPage: undefined },
          },
        },
      });
      const changed = { id: 'c1', updated_at: '2026/12/01?all=1#x' };
      partner.answerNext({ kind: 'status', status: 200, body: { data: { shipments: [changed] } } });
      expect(await poll(id)).toMatchObject({ status: 'succeeded', result: { cursor: changed.updated_at } });
      expect(partner.requests.at(-1)?.path).toBe('/changes/');
      await poll(id);
      const [sent] = partner.requests.slice(-1);
      expect({ path: sent.path, query: sent.query }).toEqual({
        path: '/changes/2026%2F12%2F01%3Fall%3D1%23x',
        query: {},
      });
    } finally {
      await partner.close();
    }
  });

  it('reads a list sent as null as an empty one, and still fails a list that is not there', async () => {
    const partner = await partnerWith();
    try {
      const id = await connect(partner);
      // Go's encoding/json writes an empty slice as null.
      partner.answerNext({ kind: 'status', status: 200, body: { data: { shipments: null } } });
      expect(await poll(id)).toMatchObject({
        status: 'succeeded',
        result: { pages: 1, items: 0, emitted: 0 },
      });
      partner.answerNext({ kind: 'status', status: 200, body: { data: {} } });
      expect(await poll(id)).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
    } finally {
      await partner.close();
    }
  });

  it('refuses a poller whose templates, event or cron are wrong, naming the field', async () => {
    const partner = await partnerWith();
    try {
      const config = pollerConfig(partner);
      const broken = {
        ...config,
        pollers: {
          shipments: {
            ...config.pollers.shipments,
            query: { updated_since: '{{input.since}}' },
            event: 'Shipment Updated',
            cron: 'every five minutes',
          },
        },
      };
      const refused = await t
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider: 'http', name: 'broken poller', config: broken, credentials: { type: 'none' } })
        .expect(422);
      expect(refused.body.error).toBe('INVALID_CONNECTION');
      expect((refused.body.details as { path: string }[]).map((d) => d.path).sort()).toEqual([
        '/config/pollers/shipments/cron',
        '/config/pollers/shipments/event',
        '/config/pollers/shipments/query',
      ]);
      const listed = await t.http().get('/connections?limit=200').set(admin).expect(200);
      expect((listed.body.items as { name: string }[]).some((c) => c.name === 'broken poller')).toBe(false);
    } finally {
      await partner.close();
    }
  });

  it('removes the schedules of a connection with its account, in the same transaction', async () => {
    const partner = await partnerWith(shipment(1));
    try {
      const account = await t
        .http()
        .post('/accounts')
        .set(admin)
        .send({ name: 'leaving', email: `leaving-${Date.now()}@polls.test`, role: 'viewer' })
        .expect(201);
      const id = await connect(partner, { accountId: account.body.id });
      const [schedule] = await schedulesOf(id);
      expect(schedule).toBeDefined();

      await t.http().delete(`/accounts/${account.body.id}`).set(admin).expect(204);

      expect(await schedulesOf(id)).toEqual([]);
      await t.http().post(`/schedules/${schedule.id}/trigger`).set(admin).expect(404);
      expect(partner.requests.filter((r) => r.path === '/shipments')).toEqual([]);
    } finally {
      await partner.close();
    }
  });
  it('does not lose an item whose cursor equals the last one read when a poll stops between pages, with a partner that answers after the cursor', async () => {
    const partner = await startFakePartner({ token: TOKEN, since: 'exclusive' });
    try {
      // Page 1: shp_1, shp_2; page 2: shp_3, updated at the same time as shp_2.
      partner.addShipments(shipment(1), shipment(2), { ...shipment(3), updated_at: shipment(2).updated_at });
      const id = await connect(partner);
      partner.answerNext({ kind: 'status', status: 400 }, 1, 1);
      expect(await poll(id)).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
      expect((await eventsOf(id)).map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_2']);

      // The next poll asks from a cursor the partner still answers shp_3 after.
      const next = await poll(id);
      expect(next).toMatchObject({ status: 'succeeded', result: { emitted: 1 } });
      expect((await eventsOf(id)).map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_2', 'shp_3']);
    } finally {
      await partner.close();
    }
  });

  it('takes the latest ISO time as the cursor when the partner writes times with other offsets or precision', async () => {
    const partner = await partnerWith(
      { ...shipment(1), updated_at: '2026-12-05T14:00:00.5Z' },
      { ...shipment(2), updated_at: '2026-12-05T14:00:00Z' },
      { ...shipment(3), updated_at: '2026-12-05T12:00:00Z' },
      // 14:30 UTC, the latest of the four.
      { ...shipment(4), updated_at: '2026-12-05T09:30:00-05:00' },
    );
    try {
      const id = await connect(partner);
      expect(await poll(id)).toMatchObject({
        status: 'succeeded',
        result: { items: 4, emitted: 4, cursor: '2026-12-05T09:30:00-05:00' },
      });
      const again = await poll(id);
      expect(partner.requests.at(-1)!.query).toEqual({ updated_since: '2026-12-05T09:30:00-05:00' });
      expect(again).toMatchObject({ status: 'succeeded', result: { items: 1, emitted: 0 } });
    } finally {
      await partner.close();
    }
  });

  it('stops a poll whose partner gives the same next-page token again, instead of reading the page a hundred times', async () => {
    const partner = await partnerWith(shipment(1), shipment(2), shipment(3));
    try {
      const { nextPage, ...poller } = pollerConfig(partner).pollers.shipments;
      // The partner ignores a parameter it does not know, so it answers the first page every time.
      const id = await connect(partner, {
        config: {
          baseUrl: partner.url,
          rateLimit: { requests: 1000, perMs: 1000 },
          pollers: { shipments: { ...poller, nextPage: { ...nextPage, param: 'page' } } },
        },
      });
      const done = await poll(id);
      expect(done).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
      expect(done.lastError!.message).toContain('next-page token');
      expect(partner.requests.filter((r) => r.path === '/shipments')).toHaveLength(2);
      expect((await eventsOf(id)).map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_2']);
    } finally {
      await partner.close();
    }
  });

  it('never moves the cursor back when two polls of one poller run at once', async () => {
    const partner = await startFakePartner({ token: TOKEN, pageSize: 10 });
    try {
      partner.addShipments(shipment(1), shipment(2), shipment(3));
      const id = await connect(partner);
      // The first poll's answer, shp_1 alone, comes late: after a second poll has read all three.
      partner.answerNext({
        kind: 'status',
        status: 200,
        delayMs: 1500,
        body: { data: { shipments: [shipment(1)] }, next_cursor: null },
      });
      const slow = await trigger(id);
      await waitFor(
        () => Promise.resolve(partner.requests.length),
        (n) => n === 1,
      );
      expect(await poll(id)).toMatchObject({
        status: 'succeeded',
        result: { cursor: shipment(3).updated_at },
      });
      expect(await finished(slow)).toMatchObject({ status: 'succeeded' });

      await poll(id);
      expect(partner.requests.at(-1)!.query).toEqual({ updated_since: shipment(3).updated_at });
    } finally {
      await partner.close();
    }
  });

  it('stops a poll at its next page when the connection is paused meanwhile', async () => {
    const partner = await startFakePartner({ token: TOKEN, pageSize: 1 });
    try {
      partner.addShipments(shipment(1), shipment(2), shipment(3));
      const id = await connect(partner);
      partner.answerNext({ kind: 'slow', delayMs: 1000 });
      const jobId = await trigger(id);
      await waitFor(
        () => Promise.resolve(partner.requests.length),
        (n) => n === 1,
      );
      await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
      const done = await finished(jobId);
      expect(done).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
      expect(done.lastError!.message).toContain('paused');
      // The page already asked for is kept; no other is asked for.
      expect(partner.requests.filter((r) => r.path === '/shipments')).toHaveLength(1);
      expect((await eventsOf(id)).map((e) => e.data.id)).toEqual(['shp_1']);
    } finally {
      await partner.close();
    }
  });

  it('skips an item too large to be an event, with a log line, and emits the others', async () => {
    const partner = await partnerWith();
    try {
      const id = await connect(partner);
      const huge = { ...shipment(2), notes: 'x'.repeat(300 * 1024) };
      partner.answerNext(
        {
          kind: 'status',
          status: 200,
          body: { data: { shipments: [shipment(1), huge, shipment(3)] }, next_cursor: null },
        },
        'all',
      );
      const done = await poll(id);
      expect(done).toMatchObject({
        status: 'succeeded',
        result: { items: 3, emitted: 2, skipped: 1, cursor: shipment(3).updated_at },
      });
      expect(
        done.logs.some((l) => l.message.includes('shp_2') && l.message.includes('EVENT_TOO_LARGE')),
      ).toBe(true);
      expect((await eventsOf(id)).map((e) => e.data.id).sort()).toEqual(['shp_1', 'shp_3']);
    } finally {
      await partner.close();
    }
  });

  it('emits nothing again for unchanged items when a poller is renamed', async () => {
    const partner = await partnerWith(shipment(1), shipment(2), shipment(3));
    try {
      const id = await connect(partner);
      expect(await poll(id)).toMatchObject({ status: 'succeeded', result: { emitted: 3 } });
      const { shipments } = pollerConfig(partner).pollers;
      await t
        .http()
        .patch(`/connections/${id}`)
        .set(admin)
        .send({ config: { baseUrl: partner.url, pollers: { deliveries: shipments } } })
        .expect(200);
      expect((await schedulesOf(id)).map((s) => s.name)).toEqual([`connection:${id}:poll:deliveries`]);
      // The renamed poller starts without a cursor and reads the same three shipments.
      expect(await poll(id)).toMatchObject({ status: 'succeeded', result: { items: 3, emitted: 0 } });
      expect(await eventsOf(id)).toHaveLength(3);
    } finally {
      await partner.close();
    }
  });
});
