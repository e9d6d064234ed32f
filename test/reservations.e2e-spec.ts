import { DataSource } from 'typeorm';
import { OperationsService } from '../src/modules/planner/operations.service.js';
import { CatalogueService } from '../src/modules/reservations/catalogue.service.js';
import { GoodsService } from '../src/modules/reservations/goods.service.js';
import { ReservationRequestsService } from '../src/modules/reservations/reservation-requests.service.js';
import { ReserverService } from '../src/modules/reservations/reserver.service.js';
import { consistencyProblems, modelPass, readState, seededRandom } from './support/reservation-model.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';
import { seedWarehouse, waitForReserverToSettle } from './support/warehouse.js';

const TYPES = ['bolt', 'nut', 'gear', 'belt', 'lamp'];
const COLORS = ['red', 'blue'];

describe('the reserver', () => {
  describe('1,000 requests in two lanes competing for scarce goods (seed 20261125)', () => {
    let t: TestApp;
    beforeAll(async () => {
      // No reserver role: the test drives the batches and compares each pass with the model.
      t = await startTestApp({ env: { JUNCTION_ROLES: 'api', JUNCTION_RESERVER_BATCH: '64' } });
    });
    afterAll(() => t.close());

    it('never reserves an object twice, serves each lane in id order, and matches the plain model pass by pass', async () => {
      const random = seededRandom(20261125);
      const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
      const goods = t.app.get(GoodsService);
      const catalogue = t.app.get(CatalogueService);
      const requests = t.app.get(ReservationRequestsService);
      const reserver = t.app.get(ReserverService);
      const operations = t.app.get(OperationsService);
      const dataSource = t.app.get(DataSource);
      await catalogue.createLocation({ code: 'shelf' });
      for (const code of TYPES) await catalogue.createGoodsType({ code });
      const stockUp = async (count: number, future: boolean) => {
        for (let i = 0; i < count; i++) {
          const line = { goodsType: pick(TYPES), properties: { color: pick(COLORS) } };
          if (future) {
            await operations.planArrivals({
              location: 'shelf',
              at: new Date(Date.now() + 3_600_000),
              goods: [line],
            });
          } else {
            await goods.enterGoods({ ...line, location: 'shelf' });
          }
        }
      };
      await stockUp(300, false);
      for (let n = 0; n < 1000; n++) {
        const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
          goodsType: pick(TYPES),
          quantity: 1 + Math.floor(random() * 4),
          properties: random() < 0.4 ? { color: pick(COLORS) } : {},
        }));
        await requests.create({
          purpose: { type: 'sale' },
          lane: random() < 0.2 ? 'express' : 'main',
          items,
        });
      }

      let expected = new Map<string, string>();
      const passAndCompare = async () => {
        const before = await readState(dataSource);
        for (const lane of ['main', 'express']) {
          expected = modelPass(before, lane, expected);
          await reserver.drain(lane);
        }
        const after = await readState(dataSource);
        expect(await consistencyProblems(dataSource)).toEqual([]);
        expect(after.reservations.size).toBe(expected.size);
        expect([...after.reservations].sort()).toEqual([...expected].sort());
        return after;
      };

      const first = await passAndCompare();
      expect(first.reservations.size).toBeGreaterThan(250);
      expect(first.requests.filter((r) => r.status === 'pending').length).toBeGreaterThan(500);
      // Goods due to arrive can be promised too; waiting requests get them in order.
      for (const future of [true, false, true]) {
        await stockUp(400, future);
        const state = await passAndCompare();
        expect(state.reservations.size).toBeGreaterThan(first.reservations.size);
      }
      const final = await readState(dataSource);
      expect(final.requests.filter((r) => r.status === 'reserved').length).toBeGreaterThan(100);
      expect(final.requests.filter((r) => r.status === 'pending').length).toBeGreaterThan(100);
      // A pass with no new goods changes nothing and looks at no request again.
      expect(await reserver.drain('main')).toEqual({ examined: 0, reserved: 0, goods: 0 });
    }, 120_000);
  });

  // Several processes share one database on PostgreSQL only; SQLite is one process, so there the
  // same work runs through one app.
  const postgres = (process.env.DATABASE_URL ?? '').startsWith('postgres');
  describe(
    postgres ? 'two processes with the reserver role on one database' : 'one process on SQLite',
    () => {
      it('serve each lane from one process at a time, in order, while goods arrive and requests are cancelled', async () => {
        const first = await startTestApp({ env: { JUNCTION_ROLES: 'api,reserver' } });
        const second = postgres
          ? await startTestApp({ database: first.database, env: { JUNCTION_ROLES: 'api,reserver' } })
          : first;
        try {
          const goods = first.app.get(GoodsService);
          const catalogue = first.app.get(CatalogueService);
          const requests = second.app.get(ReservationRequestsService);
          await catalogue.createGoodsType({ code: 'cup' });
          await catalogue.createLocation({ code: 'shelf' });
          await goods.enterGoods({ goodsType: 'cup', location: 'shelf', count: 60 });
          const ids: string[] = [];
          for (let n = 0; n < 100; n++) {
            const { request } = await requests.create({
              purpose: { type: 'sale' },
              lane: n % 2 === 0 ? 'north' : 'south',
              items: [{ goodsType: 'cup', quantity: 1 + (n % 3) }],
            });
            ids.push(request.id);
          }
          // While both reservers work: goods arrive through one process, requests are cancelled through the other.
          const operations = first.app.get(OperationsService);
          await Promise.all([
            (async () => {
              for (let wave = 0; wave < 6; wave++) {
                await operations.planArrivals({
                  location: 'shelf',
                  at: new Date(Date.now() + 60_000),
                  goods: [{ goodsType: 'cup', count: 15 }],
                });
                await new Promise((resolve) => setTimeout(resolve, 20));
              }
            })(),
            (async () => {
              for (const id of ids.filter((_, n) => n % 9 === 4)) {
                await requests.cancel(id);
                await new Promise((resolve) => setTimeout(resolve, 15));
              }
            })(),
          ]);
          const dataSource = first.app.get(DataSource);
          await waitForReserverToSettle(dataSource);
          expect(await consistencyProblems(dataSource)).toEqual([]);
          const leaders = [...new Set([first, second])].flatMap((t) =>
            t.app.get(ReserverService).leadingLanes(),
          );
          // On PostgreSQL each lane's advisory lock is held by exactly one of the two.
          expect(leaders.sort()).toEqual(['north', 'south']);
          const [{ n: cancelled }] = await first.app
            .get(DataSource)
            .query<{ n: string }[]>(
              `SELECT count(*) AS n FROM reservation_request WHERE status = 'cancelled'`,
            );
          expect(Number(cancelled)).toBe(11);
        } finally {
          if (second !== first) await second.close();
          await first.close();
        }
      });
    },
  );

  describe('running as a role', () => {
    let t: TestApp;
    const admin = bearer(ADMIN_KEY);
    beforeAll(async () => {
      t = await startTestApp({ env: { JUNCTION_ROLES: 'api,reserver' } });
      await seedWarehouse(t, { goodsTypes: ['chair'], locations: ['dock'] });
    });
    afterAll(() => t.close());

    const create = async (quantity: number) =>
      (
        await t
          .http()
          .post('/reservation-requests')
          .set(admin)
          .send({ purpose: { type: 'sale' }, items: [{ goodsType: 'chair', quantity }] })
          .expect(201)
      ).body as { id: string };
    const enterChairs = (count: number) =>
      seedWarehouse(t, { goods: [{ goodsType: 'chair', location: 'dock', count }] });
    const reservedCount = async (id: string) => {
      const { body } = await t.http().get(`/reservation-requests/${id}`).set(admin).expect(200);
      return {
        status: (body as { status: string }).status,
        held: (body as { reservations: unknown[] }).reservations.length,
      };
    };

    it('gives goods that arrive later to waiting requests in order, keeping partial reservations', async () => {
      const big = await create(3);
      const small = await create(1);
      const medium = await create(2);
      const arrive = (count: number) =>
        t
          .http()
          .post('/arrivals')
          .set(admin)
          .send({
            location: 'dock',
            dtExecution: new Date(Date.now() + 60_000).toISOString(),
            goods: [{ goodsType: 'chair', count }],
          })
          .expect(201);

      await arrive(2);
      await waitFor(
        () => reservedCount(big.id),
        (r) => r.held === 2,
      );
      expect(await reservedCount(big.id)).toEqual({ status: 'pending', held: 2 });
      expect(await reservedCount(small.id)).toEqual({ status: 'pending', held: 0 });

      await arrive(2);
      await waitFor(
        () => reservedCount(small.id),
        (r) => r.status === 'reserved',
      );
      expect(await reservedCount(big.id)).toEqual({ status: 'reserved', held: 3 });
      expect(await reservedCount(medium.id)).toEqual({ status: 'pending', held: 0 });

      await enterChairs(2);
      await waitFor(
        () => reservedCount(medium.id),
        (r) => r.status === 'reserved',
      );
      const stock = await t.http().get('/stock?goodsType=chair&location=dock').set(admin).expect(200);
      expect(stock.body).toMatchObject({ present: 2, future: 4, reserved: 6 });
      // At a time, only what is there then: the arrivals (due in a minute) are not yet.
      const stockAt = async (at: Date) =>
        (
          await t
            .http()
            .get(`/stock?goodsType=chair&location=dock&at=${at.toISOString()}`)
            .set(admin)
            .expect(200)
        ).body as object;
      expect(await stockAt(new Date())).toMatchObject({ present: 2, future: 0, reserved: 2 });
      expect(await stockAt(new Date(Date.now() + 120_000))).toMatchObject({
        present: 2,
        future: 4,
        reserved: 6,
      });
      expect(await consistencyProblems(t.app.get(DataSource))).toEqual([]);
    });

    it('does not promise goods planned to leave, and promises them once that departure is cancelled', async () => {
      await t.http().post('/goods-types').set(admin).send({ code: 'stool' }).expect(201);
      const { body: entered } = await t
        .http()
        .post('/goods')
        .set(admin)
        .send({ goodsType: 'stool', location: 'dock' })
        .expect(201);
      const stool = (entered as { items: { id: string }[] }).items[0].id;
      const { body: departure } = await t
        .http()
        .post('/operations')
        .set(admin)
        .send({
          type: 'departure',
          goods: stool,
          dtExecution: new Date(Date.now() + 3_600_000).toISOString(),
        })
        .expect(201);
      const { body: created } = await t
        .http()
        .post('/reservation-requests')
        .set(admin)
        .send({ purpose: { type: 'sale' }, items: [{ goodsType: 'stool', quantity: 1 }] })
        .expect(201);
      const id = (created as { id: string }).id;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await reservedCount(id)).toEqual({ status: 'pending', held: 0 });
      await t
        .http()
        .post(`/operations/${(departure as { id: string }).id}/cancel`)
        .set(admin)
        .expect(200);
      await waitFor(
        () => reservedCount(id),
        (r) => r.status === 'reserved',
      );
    });

    it('goes on reserving when a declared schema refuses its reservation.reserved event', async () => {
      await t
        .http()
        .put('/event-types/reservation.reserved')
        .set(admin)
        .send({
          description: 'Tightened by an admin',
          schema: { type: 'object', required: ['somethingElse'] },
        })
        .expect(200);
      const request = await create(1);
      await enterChairs(1);
      await waitFor(
        () => reservedCount(request.id),
        (r) => r.status === 'reserved',
      );
      await t.http().delete('/event-types/reservation.reserved').set(admin).expect(204);
    });

    it('gives the goods of a cancelled request to the next one waiting', async () => {
      const first = await create(2);
      await enterChairs(2);
      await waitFor(
        () => reservedCount(first.id),
        (r) => r.status === 'reserved',
      );
      const second = await create(2);
      await t.http().post(`/reservation-requests/${first.id}/cancel`).set(admin).expect(200);
      await waitFor(
        () => reservedCount(second.id),
        (r) => r.status === 'reserved',
      );
      expect(await reservedCount(first.id)).toEqual({ status: 'cancelled', held: 0 });
      await t.http().post(`/reservation-requests/${first.id}/cancel`).set(admin).expect(409);
      expect(await consistencyProblems(t.app.get(DataSource))).toEqual([]);
    });
  });
});
