import { DataSource } from 'typeorm';
import { WriteSerializer } from '../src/database/write-serializer.js';
import { OperationsService } from '../src/modules/planner/operations.service.js';
import { PlannerService } from '../src/modules/planner/planner.service.js';
import { CatalogueService } from '../src/modules/reservations/catalogue.service.js';
import { GoodsService } from '../src/modules/reservations/goods.service.js';
import { ReservationRequestsService } from '../src/modules/reservations/reservation-requests.service.js';
import { consistencyProblems } from './support/reservation-model.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { plannedByTestPlanner, TestPlannersModule } from './support/test-planners.module.js';
import { waitFor } from './support/wait-for.js';
import { seedWarehouse } from './support/warehouse.js';

const admin = bearer(ADMIN_KEY);
const postgres = (process.env.DATABASE_URL ?? '').startsWith('postgres');

interface RequestBody {
  id: string;
  status: string;
  reservations: { goodsId: string }[];
}
interface OperationBody {
  id: string;
  type: string;
  state: string;
  goodsId: string;
  followsId: string | null;
  inputs: string[];
  outcomes: string[];
}

describe('planners and operations', () => {
  describe(`four planners per process${postgres ? ', two processes on one PostgreSQL schema' : ''}`, () => {
    const apps: TestApp[] = [];
    afterAll(async () => {
      for (const app of apps.reverse()) await app.close();
    });

    it('never plan one request twice, and plan every one', async () => {
      const env = { JUNCTION_ROLES: 'api,planner', JUNCTION_PLANNERS: '4' };
      const first = await startTestApp({
        env: { JUNCTION_ROLES: 'api,reserver' },
        features: [TestPlannersModule],
      });
      apps.push(first);
      const goods = first.app.get(GoodsService);
      const catalogue = first.app.get(CatalogueService);
      const requests = first.app.get(ReservationRequestsService);
      await catalogue.createGoodsType({ code: 'box' });
      await catalogue.createLocation({ code: 'shelf' });
      await catalogue.createLocation({ code: 'test-dock' });
      await goods.enterGoods({ goodsType: 'box', location: 'shelf', count: 240 });
      plannedByTestPlanner.length = 0;
      const ids: string[] = [];
      for (let n = 0; n < 120; n++) {
        const { request } = await requests.create({
          purpose: { type: 'test.record' },
          items: [{ goodsType: 'box', quantity: 2 }],
        });
        ids.push(request.id);
      }
      const dataSource = first.app.get(DataSource);
      const countByStatus = async (status: string) =>
        Number(
          (
            await dataSource.query<{ n: string }[]>(
              `SELECT count(*) AS n FROM reservation_request WHERE status = '${status}'`,
            )
          )[0].n,
        );
      await waitFor(
        () => countByStatus('reserved'),
        (n) => n === 120,
      );

      const planners = [
        await startTestApp({ database: first.database, env, features: [TestPlannersModule] }),
      ];
      if (postgres)
        planners.push(await startTestApp({ database: first.database, env, features: [TestPlannersModule] }));
      apps.push(...planners);
      // The executor of the planner processes runs the moves, so requests go on to done.
      await waitFor(
        async () => (await countByStatus('planned')) + (await countByStatus('done')),
        (n) => n === 120,
        30_000,
      );

      // Test planners of every process share this module-level log: each request appears once.
      expect(plannedByTestPlanner.length).toBe(120);
      expect(new Set(plannedByTestPlanner).size).toBe(120);
      expect([...plannedByTestPlanner].sort()).toEqual([...ids].sort());
      const perProcess = planners.map((p) => p.app.get(PlannerService).planned);
      expect(perProcess.reduce((a, b) => a + b, 0)).toBe(120);
      if (postgres) expect(Math.min(...perProcess)).toBeGreaterThan(0);
      const [{ n: moves }] = await dataSource.query<{ n: string }[]>(
        `SELECT count(*) AS n FROM operation WHERE type = 'move'`,
      );
      expect(Number(moves)).toBe(240);
    }, 60_000);
  });

  describe('operations on reserved goods', () => {
    let t: TestApp;
    beforeAll(async () => {
      // No planner role: requests stay reserved, unplanned, for the test to plan by hand.
      t = await startTestApp({ env: { JUNCTION_ROLES: 'api,reserver' } });
      await seedWarehouse(t, {
        goodsTypes: ['lamp'],
        locations: ['shelf', 'bench'],
        goods: [{ goodsType: 'lamp', location: 'shelf', count: 3 }],
      });
    });
    afterAll(() => t.close());

    it('refuses an operation from outside the claim of the request holding them (409 GOODS_RESERVED)', async () => {
      const created = await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'move', location: 'bench' }, items: [{ goodsType: 'lamp', quantity: 2 }] })
        .expect(201);
      const id = (created.body as { id: string }).id;
      const request = await waitFor(
        async () =>
          (await t.http().get(`/reservation-requests/${id}`).set(admin).expect(200)).body as RequestBody,
        (r) => r.status === 'reserved',
      );
      const reserved = request.reservations[0].goodsId;

      const refused = await t
        .http()
        .post('/operations')
        .set(admin)
        .send({ type: 'move', goods: reserved, location: 'bench' })
        .expect(409);
      expect(refused.body).toMatchObject({ error: 'GOODS_RESERVED' });
      await t.http().post('/operations').set(admin).send({ type: 'departure', goods: reserved }).expect(409);

      // Free goods move without any claim.
      const { body: goods } = await t.http().get('/goods?goodsType=lamp').set(admin).expect(200);
      const free = (goods as { items: { id: string; reserved: boolean }[] }).items.find((g) => !g.reserved);
      await t
        .http()
        .post('/operations')
        .set(admin)
        .send({ type: 'move', goods: free?.id, location: 'bench' })
        .expect(201);

      const requests = t.app.get(ReservationRequestsService);
      const operations = t.app.get(OperationsService);
      const plan = (claim: { requestId: string; token: string }) =>
        t.app
          .get(WriteSerializer)
          .transaction((manager) => operations.planMove(manager, reserved, 'bench', { claim }));
      // Another request's claim is not this request's.
      const other = await requests.create({
        purpose: { type: 'sale' },
        items: [{ goodsType: 'lamp', quantity: 5 }],
      });
      await expect(plan({ requestId: other.request.id, token: 'x' })).rejects.toMatchObject({
        code: 'GOODS_RESERVED',
      });
      // The right request without holding its claim.
      await expect(
        plan({ requestId: id, token: '019abc12-3def-7456-89ab-cdef01234567' }),
      ).rejects.toMatchObject({
        code: 'CLAIM_LOST',
      });
      // Holding the claim, it is allowed.
      const claimed = await requests.claimNext('019abc12-3def-7456-89ab-cdef01234568', 60_000);
      expect(claimed?.id).toBe(id);
      const planned = await plan({ requestId: id, token: '019abc12-3def-7456-89ab-cdef01234568' });
      expect(planned.operation).toMatchObject({ type: 'move', state: 'planned', requestId: id });
    });
  });

  describe('a planner that dies holding a claim, or fails', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ env: { JUNCTION_ROLES: 'api,reserver' }, features: [TestPlannersModule] });
      await seedWarehouse(t, {
        goodsTypes: ['vase'],
        locations: ['shelf', 'test-dock'],
        goods: [{ goodsType: 'vase', location: 'shelf', count: 2 }],
      });
    });
    afterAll(() => t.close());

    it('leaves its request to another planner once the claim expires, and cannot plan with it after', async () => {
      const requests = t.app.get(ReservationRequestsService);
      const { request } = await requests.create({
        purpose: { type: 'sale' },
        items: [{ goodsType: 'vase', quantity: 1 }],
      });
      await waitFor(
        async () => (await requests.get(request.id)).request.status,
        (status) => status === 'reserved',
      );
      const dead = '019abc12-3def-7456-89ab-cdef0123dead';
      expect((await requests.claimNext(dead, 100))?.id).toBe(request.id);
      const planner = t.app.get(PlannerService);
      // While the claim holds, no other planner gets the request.
      expect(await planner.planNext()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await planner.planNext()).toBe(true);
      expect((await requests.get(request.id)).request.status).toBe('planned');
      const { reservations } = await requests.get(request.id);
      await expect(
        t.app.get(WriteSerializer).transaction((manager) =>
          t.app.get(OperationsService).planMove(manager, reservations[0].goodsId, 'shelf', {
            claim: { requestId: request.id, token: dead },
          }),
        ),
      ).rejects.toMatchObject({ code: 'CLAIM_LOST' });
    });

    it('rolls a failed planning back and leaves the request to a later try', async () => {
      const requests = t.app.get(ReservationRequestsService);
      const planner = t.app.get(PlannerService);
      const { request } = await requests.create({
        purpose: { type: 'test.fail-once' },
        items: [{ goodsType: 'vase', quantity: 1 }],
      });
      await waitFor(
        async () => (await requests.get(request.id)).request.status,
        (status) => status === 'reserved',
      );
      expect(await planner.planNext()).toBe(true);
      const failed = await requests.get(request.id);
      expect(failed.request).toMatchObject({ status: 'reserved', claimedBy: null });
      expect(failed.request.claimedUntil?.getTime()).toBeGreaterThan(Date.now());
      const { body: none } = await t.http().get(`/operations?request=${request.id}`).set(admin).expect(200);
      expect((none as { items: unknown[] }).items).toEqual([]);
      // Deferred: no planner takes it again at once.
      expect(await planner.planNext()).toBe(false);
      await t.app
        .get(DataSource)
        .query(`UPDATE reservation_request SET claimed_until = NULL WHERE id = '${request.id}'`);
      expect(await planner.planNext()).toBe(true);
      expect((await requests.get(request.id)).request.status).toBe('planned');
    });
  });

  describe('a shop order through to departure', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ env: { JUNCTION_EXECUTOR_MS: '100' } });
      await seedWarehouse(t, {
        goodsTypes: ['SKU-1'],
        locations: ['warehouse', { code: 'A1', parent: 'warehouse' }],
        goods: [{ goodsType: 'SKU-1', location: 'A1', count: 3 }],
      });
    });
    afterAll(() => t.close());

    it('turns order.created into a request that is reserved, planned as a sale, executed and done', async () => {
      await t
        .http()
        .post('/routes')
        .set(admin)
        .send({
          name: 'orders-to-warehouse',
          eventPattern: 'order.created',
          jobType: 'reservations.from-order',
        })
        .expect(201);
      await t
        .http()
        .post('/events')
        .set(admin)
        .send({
          name: 'order.created',
          source: 'shop',
          data: { orderId: 'shop-1001', lines: [{ goodsType: 'SKU-1', quantity: 2 }] },
        })
        .expect(202);

      const done = await waitFor(
        async () =>
          (await t.http().get('/reservation-requests').set(admin).expect(200)).body as {
            items: RequestBody[];
          },
        (page) => page.items.length === 1 && page.items[0].status === 'done',
        20_000,
      );
      const requestId = done.items[0].id;
      const { body: detail } = await t
        .http()
        .get(`/reservation-requests/${requestId}`)
        .set(admin)
        .expect(200);
      expect(detail).toMatchObject({
        status: 'done',
        purpose: { type: 'sale', orderId: 'shop-1001' },
        reservations: [],
      });

      const { body: ops } = await t.http().get(`/operations?request=${requestId}`).set(admin).expect(200);
      const operations = (ops as { items: OperationBody[] }).items;
      expect(operations.map((o) => `${o.type}:${o.state}`).sort()).toEqual([
        'departure:done',
        'departure:done',
        'move:done',
        'move:done',
      ]);
      const departure = operations.find((o) => o.type === 'departure');
      expect(departure?.followsId).toBe(
        operations.find((o) => o.type === 'move' && o.goodsId === departure?.goodsId)?.id,
      );

      const { body: goods } = await t.http().get(`/goods/${departure?.goodsId}`).set(admin).expect(200);
      expect(
        (goods as { inStock: boolean; avatars: { state: string }[] }).avatars.map((a) => a.state),
      ).toEqual(['past', 'past']);
      const stock = await t.http().get('/stock?goodsType=SKU-1&location=warehouse').set(admin).expect(200);
      expect(stock.body).toMatchObject({ present: 1, future: 0, reserved: 0 });
      // The kettle left on shelf A1 is listed under the warehouse it stands in.
      const { body: inWarehouse } = await t.http().get('/goods?location=warehouse').set(admin).expect(200);
      expect((inWarehouse as { items: unknown[] }).items).toHaveLength(1);

      const { body: events } = await t.http().get('/events?limit=200').set(admin).expect(200);
      const names = (events as { items: { name: string }[] }).items.map((e) => e.name);
      for (const name of [
        'reservation.reserved',
        'reservation.planned',
        'reservation.done',
        'operation.done',
      ]) {
        expect(names).toContain(name);
      }
      expect(names.filter((n) => n === 'operation.done')).toHaveLength(4);

      // The same order again (a replayed event) reserves nothing more.
      await t
        .http()
        .post('/events')
        .set(admin)
        .send({
          name: 'order.created',
          source: 'shop',
          data: { orderId: 'shop-1001', lines: [{ goodsType: 'SKU-1', quantity: 2 }] },
        })
        .expect(202);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { body: all } = await t.http().get('/reservation-requests').set(admin).expect(200);
      expect((all as { items: unknown[] }).items).toHaveLength(1);
      expect(await consistencyProblems(t.app.get(DataSource))).toEqual([]);
    });

    it('kills the job of an order it cannot read or that names an unknown goods type, with the reason', async () => {
      const post = async (data: object) =>
        (
          (
            await t
              .http()
              .post('/events')
              .set(admin)
              .send({ name: 'order.created', source: 'shop', data })
              .expect(202)
          ).body as { jobIds: string[] }
        ).jobIds[0];
      const job = (id: string) =>
        waitFor(
          async () =>
            (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as {
              status: string;
              attempts: { errorCode: string | null; errorMessage: string | null }[];
            },
          (j) => j.status === 'dead',
        );
      const unreadable = await job(await post({ orderId: 'shop-1002', lines: [{ goodsType: 'SKU-1' }] }));
      expect(unreadable.attempts).toEqual([
        expect.objectContaining({
          errorCode: 'PERMANENT',
          errorMessage: expect.stringContaining('quantity'),
        }),
      ]);
      const unknown = await job(
        await post({ orderId: 'shop-1003', lines: [{ goodsType: 'SKU-404', quantity: 1 }] }),
      );
      expect(unknown.attempts).toEqual([
        expect.objectContaining({
          errorCode: 'PERMANENT',
          errorMessage: expect.stringContaining('UNKNOWN_GOODS_TYPE'),
        }),
      ]);
    });
  });

  describe('operations by hand', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ env: { JUNCTION_ROLES: 'api' } });
      await seedWarehouse(t, { goodsTypes: ['crate', 'bottle'], locations: ['dock', 'shelf'] });
    });
    afterAll(() => t.close());

    it('executes an arrival and a move once, waits for inputs, and cancels with the operations that follow', async () => {
      const { body: arrivals } = await t
        .http()
        .post('/arrivals')
        .set(admin)
        .send({
          location: 'dock',
          dtExecution: new Date(Date.now() + 3_600_000).toISOString(),
          goods: [{ goodsType: 'crate' }],
        })
        .expect(201);
      const arrival = (arrivals as { operations: OperationBody[] }).operations[0];
      const move = (
        await t
          .http()
          .post('/operations')
          .set(admin)
          .send({ type: 'move', goods: arrival.goodsId, location: 'shelf' })
          .expect(201)
      ).body as OperationBody;
      expect(move.followsId).toBe(arrival.id);
      const leave = (
        await t
          .http()
          .post('/operations')
          .set(admin)
          .send({ type: 'departure', goods: arrival.goodsId })
          .expect(201)
      ).body as OperationBody;
      expect(leave.followsId).toBe(move.id);

      const notReady = await t.http().post(`/operations/${move.id}/execute`).set(admin).expect(409);
      expect(notReady.body).toMatchObject({ error: 'OPERATION_NOT_READY' });
      await t.http().post(`/operations/${arrival.id}/execute`).set(admin).expect(200);
      const again = await t.http().post(`/operations/${arrival.id}/execute`).set(admin).expect(200);
      expect(again.body).toMatchObject({ state: 'done' });
      const [{ n: arrivalEvents }] = await t.app
        .get(DataSource)
        .query<{ n: string }[]>(`SELECT count(*) AS n FROM event WHERE name = 'operation.done'`);
      expect(Number(arrivalEvents)).toBe(1);

      // Cancelling the move cancels the departure that follows it; the crate stays on the dock.
      const cancelled = await t.http().post(`/operations/${move.id}/cancel`).set(admin).expect(200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled' });
      const { body: departure } = await t.http().get(`/operations/${leave.id}`).set(admin).expect(200);
      expect(departure).toMatchObject({ state: 'cancelled' });
      await t.http().post(`/operations/${move.id}/execute`).set(admin).expect(409);
      await t.http().post(`/operations/${arrival.id}/cancel`).set(admin).expect(409);
      const { body: crate } = await t.http().get(`/goods/${arrival.goodsId}`).set(admin).expect(200);
      expect((crate as { avatars: { state: string; dtUntil: string | null }[] }).avatars).toEqual([
        expect.objectContaining({ state: 'present', dtUntil: null }),
      ]);

      // Unpacked, the crate's contents are goods of their own where it stood.
      const unpack = (
        await t
          .http()
          .post('/operations')
          .set(admin)
          .send({ type: 'unpack', goods: arrival.goodsId, contents: [{ goodsType: 'bottle', count: 6 }] })
          .expect(201)
      ).body as OperationBody;
      expect(unpack.outcomes).toHaveLength(6);
      expect(
        (await t.http().get('/stock?goodsType=bottle&location=dock').set(admin).expect(200)).body,
      ).toMatchObject({
        present: 0,
        future: 6,
      });
      await t.http().post(`/operations/${unpack.id}/execute`).set(admin).expect(200);
      expect((await t.http().get('/stock?location=dock').set(admin).expect(200)).body).toMatchObject({
        present: 6,
        future: 0,
      });
    });

    it('lets viewers read, operators act and only admins define goods types and locations', async () => {
      const viewer = await keyWithRole(t, 'viewer');
      const operator = await keyWithRole(t, 'operator');
      const request = { purpose: { type: 'sale' }, items: [{ goodsType: 'crate', quantity: 1 }] };
      await t.http().get('/stock').set(viewer).expect(200);
      await t.http().get('/reservation-requests').set(viewer).expect(200);
      await t.http().post('/reservation-requests').set(viewer).send(request).expect(403);
      await t.http().post('/goods').set(viewer).send({ goodsType: 'crate', location: 'dock' }).expect(403);
      await t.http().post('/reservation-requests').set(operator).send(request).expect(201);
      await t.http().post('/goods').set(operator).send({ goodsType: 'crate', location: 'dock' }).expect(201);
      await t.http().post('/goods-types').set(operator).send({ code: 'pallet' }).expect(403);
      await t.http().post('/locations').set(operator).send({ code: 'yard' }).expect(403);
      await t.http().get('/stock').expect(401);
    });

    it('answers 422 for unknown references, 404 for unknown ids and 400 for malformed input', async () => {
      const missing = '019abc12-3def-7456-89ab-cdef01234567';
      const badType = await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'sale' }, items: [{ goodsType: 'nope', quantity: 1 }] })
        .expect(422);
      expect(badType.body).toMatchObject({ error: 'UNKNOWN_GOODS_TYPE' });
      const badPurpose = await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'teleport' }, items: [{ goodsType: 'crate', quantity: 1 }] })
        .expect(422);
      expect(badPurpose.body).toMatchObject({ error: 'INVALID_PURPOSE' });
      await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'move' }, items: [{ goodsType: 'crate', quantity: 1 }] })
        .expect(422);
      await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'sale' }, items: [{ goodsType: 'crate', quantity: 0 }] })
        .expect(400);
      await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'sale' }, items: [] })
        .expect(400);
      const badLocation = await t
        .http()
        .post('/goods')
        .set(admin)
        .send({ goodsType: 'crate', location: 'mars' })
        .expect(422);
      expect(badLocation.body).toMatchObject({ error: 'UNKNOWN_LOCATION' });
      await t.http().post('/locations').set(admin).send({ code: 'x', parent: 'mars' }).expect(422);
      await t.http().post('/goods-types').set(admin).send({ code: 'crate' }).expect(409);
      await t
        .http()
        .post('/operations')
        .set(admin)
        .send({ type: 'move', goods: missing, location: 'dock' })
        .expect(404);
      await t.http().get(`/reservation-requests/${missing}`).set(admin).expect(404);
      await t.http().post(`/reservation-requests/${missing}/cancel`).set(admin).expect(404);
      await t.http().get(`/operations/${missing}`).set(admin).expect(404);
      await t.http().post(`/operations/${missing}/execute`).set(admin).expect(404);
      await t.http().get(`/goods/${missing}`).set(admin).expect(404);
      await t.http().get(`/goods-types/${missing}`).set(admin).expect(404);
      await t.http().get(`/locations/${missing}`).set(admin).expect(404);
      await t.http().get('/stock?at=yesterday').set(admin).expect(400);
      await t.http().get('/stock?goodsType=nope').set(admin).expect(422);
    });
  });
});
