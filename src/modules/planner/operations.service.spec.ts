import { jest } from '@jest/globals';
import { Clock } from '../../common/clock.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { startServiceModule } from '../../../test/support/service-module.js';
import type { ServiceModule } from '../../../test/support/service-module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { CatalogueService } from '../reservations/catalogue.service.js';
import { GoodsService } from '../reservations/goods.service.js';
import { ReservationRequestsService } from '../reservations/reservation-requests.service.js';
import { ReserverService } from '../reservations/reserver.service.js';
import { ReservationsModule } from '../reservations/reservations.module.js';
import type { Claim } from './operations.service.js';
import { OperationsService } from './operations.service.js';
import { PlannerModule } from './planner.module.js';
import { PlannerService } from './planner.service.js';

/**
 * The operations service on a real SQLite file, without HTTP and without the reserver and
 * planner loops (role `api`): each test drives the reserver and planner itself.
 */
describe('OperationsService', () => {
  let service: ServiceModule;
  let operations: OperationsService;
  let goods: GoodsService;
  let requests: ReservationRequestsService;

  beforeEach(async () => {
    service = await startServiceModule(
      (config) => ({ imports: [JobsModule.forRoot(config), ReservationsModule, PlannerModule] }),
      { JUNCTION_ROLES: 'api' },
    );
    operations = service.module.get(OperationsService);
    goods = service.module.get(GoodsService);
    requests = service.module.get(ReservationRequestsService);
    const catalogue = service.module.get(CatalogueService);
    await catalogue.createGoodsType({ code: 'lamp' });
    for (const code of ['shelf', 'bench', 'dock']) await catalogue.createLocation({ code });
  });
  afterEach(() => service.close());

  /** One lamp on the shelf, free. */
  async function enterLamp(): Promise<string> {
    const [lamp] = await goods.enterGoods({ goodsType: 'lamp', location: 'shelf' });
    return lamp.id;
  }

  /** A sale request that the reserver has served with the only free lamp. */
  async function reserveLamp(): Promise<string> {
    const { request } = await requests.create({
      purpose: { type: 'sale' },
      items: [{ goodsType: 'lamp', quantity: 1 }],
    });
    await service.module.get(ReserverService).drain('main');
    expect((await requests.get(request.id)).request.status).toBe('reserved');
    return request.id;
  }

  function planMove(goodsId: string, location: string, claim?: Claim) {
    return service.module
      .get(WriteSerializer)
      .transaction((manager) => operations.planMove(manager, goodsId, location, { claim }));
  }

  describe('cancel', () => {
    it('cancels the operations that follow first, then the operation, when it has followers', async () => {
      const lamp = await enterLamp();
      const move = await operations.plan({ type: 'move', goods: lamp, location: 'bench' });
      const next = await operations.plan({ type: 'move', goods: lamp, location: 'dock' });
      const last = await operations.plan({ type: 'departure', goods: lamp });
      let tick = Date.parse('2030-01-01T00:00:00Z');
      jest.spyOn(service.module.get(Clock), 'now').mockImplementation(() => new Date((tick += 1000)));

      const cancelled = await operations.cancel(move.operation.id);

      expect(next.operation.followsId).toBe(move.operation.id);
      expect(last.operation.followsId).toBe(next.operation.id);
      const [a, b, c] = await Promise.all(
        [move, next, last].map(async (v) => (await operations.get(v.operation.id)).operation),
      );
      expect([a.state, b.state, c.state]).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect(c.updatedAt.getTime()).toBeLessThan(b.updatedAt.getTime());
      expect(b.updatedAt.getTime()).toBeLessThan(a.updatedAt.getTime());
      expect(cancelled.outcomes).toEqual([]);
    });

    it('leaves the goods where they were, in stock, when the whole chain is cancelled', async () => {
      const lamp = await enterLamp();
      const move = await operations.plan({ type: 'move', goods: lamp, location: 'bench' });
      await operations.plan({ type: 'departure', goods: lamp });

      await operations.cancel(move.operation.id);

      const { goods: object, avatars } = await goods.getGoods(lamp);
      expect(object.inStock).toBe(true);
      expect(avatars).toHaveLength(1);
      expect(avatars[0]).toMatchObject({ state: 'present', dtUntil: null });
      expect(await goods.stock({ location: 'bench' })).toEqual({ present: 0, future: 0, reserved: 0 });
    });

    it('changes nothing when the operation is cancelled already', async () => {
      const lamp = await enterLamp();
      const move = await operations.plan({ type: 'move', goods: lamp, location: 'bench' });
      const first = await operations.cancel(move.operation.id);

      const again = await operations.cancel(move.operation.id);

      expect(again.operation).toEqual(first.operation);
    });

    it('refuses with OPERATION_NOT_PLANNED when the operation is done', async () => {
      const lamp = await enterLamp();
      const move = await operations.plan({ type: 'move', goods: lamp, location: 'bench' });
      await operations.execute(move.operation.id);

      await expect(operations.cancel(move.operation.id)).rejects.toMatchObject({
        code: 'OPERATION_NOT_PLANNED',
      });
    });

    it('puts a planned request back to reserved when its last open operations are cancelled', async () => {
      await enterLamp();
      const requestId = await reserveLamp();
      expect(await service.module.get(PlannerService).planNext()).toBe(true);
      const planned = await operations.list({ request: requestId }, { limit: 10 });
      const move = planned.items.find((v) => v.operation.type === 'move');

      await operations.cancel(move!.operation.id);

      const after = await operations.list({ request: requestId }, { limit: 10 });
      expect(after.items.map((v) => v.operation.state)).toEqual(['cancelled', 'cancelled']);
      expect((await requests.get(requestId)).request).toMatchObject({ status: 'reserved', planned: false });
    });

    it('refuses with GOODS_RESERVED when a request holds the contents of an unpack planned outside any request', async () => {
      await service.module.get(CatalogueService).createGoodsType({ code: 'crate' });
      const [crate] = await goods.enterGoods({ goodsType: 'crate', location: 'shelf' });
      const unpack = await operations.plan({
        type: 'unpack',
        goods: crate.id,
        contents: [{ goodsType: 'lamp' }],
      });
      const requestId = await reserveLamp();

      await expect(operations.cancel(unpack.operation.id)).rejects.toMatchObject({
        code: 'GOODS_RESERVED',
        details: { requestId },
      });
      expect((await operations.get(unpack.operation.id)).operation.state).toBe('planned');
    });

    it('refuses with GOODS_RESERVED when a planned arrival brings goods a request holds', async () => {
      const [arrival] = await operations.planArrivals({
        location: 'dock',
        at: new Date(Date.now() + 3_600_000),
        goods: [{ goodsType: 'lamp' }],
      });
      await reserveLamp();

      await expect(operations.cancel(arrival.operation.id)).rejects.toMatchObject({ code: 'GOODS_RESERVED' });
    });
  });

  describe('planning on promised goods', () => {
    it('refuses with GOODS_RESERVED when the caller holds no claim', async () => {
      const lamp = await enterLamp();
      const requestId = await reserveLamp();

      await expect(operations.plan({ type: 'move', goods: lamp, location: 'bench' })).rejects.toMatchObject({
        code: 'GOODS_RESERVED',
        details: { goodsId: lamp, requestId },
      });
    });

    it('refuses with GOODS_RESERVED when the claim is on another request', async () => {
      const lamp = await enterLamp();
      await reserveLamp();
      const { request: other } = await requests.create({
        purpose: { type: 'sale' },
        items: [{ goodsType: 'lamp', quantity: 1 }],
      });

      await expect(
        planMove(lamp, 'bench', { requestId: other.id, token: '019abc12-3def-7456-89ab-cdef01234567' }),
      ).rejects.toMatchObject({ code: 'GOODS_RESERVED' });
    });

    it('refuses with CLAIM_LOST when the caller names the request but does not hold its claim', async () => {
      const lamp = await enterLamp();
      const requestId = await reserveLamp();

      await expect(
        planMove(lamp, 'bench', { requestId, token: '019abc12-3def-7456-89ab-cdef01234567' }),
      ).rejects.toMatchObject({ code: 'CLAIM_LOST' });
    });

    it('refuses with CLAIM_LOST when the claim has expired', async () => {
      const lamp = await enterLamp();
      const requestId = await reserveLamp();
      const token = '019abc12-3def-7456-89ab-cdef0123dead';
      expect((await requests.claimNext(token, 60_000))?.id).toBe(requestId);
      jest.spyOn(service.module.get(Clock), 'now').mockImplementation(() => new Date(Date.now() + 120_000));

      await expect(planMove(lamp, 'bench', { requestId, token })).rejects.toMatchObject({
        code: 'CLAIM_LOST',
      });
    });

    it('plans the operation for the request when the caller holds its claim', async () => {
      const lamp = await enterLamp();
      const requestId = await reserveLamp();
      const token = '019abc12-3def-7456-89ab-cdef01234568';
      expect((await requests.claimNext(token, 60_000))?.id).toBe(requestId);

      const planned = await planMove(lamp, 'bench', { requestId, token });

      expect(planned.operation).toMatchObject({ type: 'move', state: 'planned', requestId, goodsId: lamp });
    });
  });

  describe('due', () => {
    it('passes over due operations whose input is not present yet, and fills the limit from later ones', async () => {
      const minutes = (n: number) => new Date(Date.now() + n * 60_000);
      const lamp = await enterLamp();
      const move = await operations.plan({ type: 'move', goods: lamp, location: 'bench', at: minutes(10) });
      const departure = await operations.plan({ type: 'departure', goods: lamp, at: minutes(10) });
      const [arrival] = await operations.planArrivals({
        location: 'dock',
        at: minutes(20),
        goods: [{ goodsType: 'lamp' }],
      });

      const due = await operations.due(minutes(30), 2);

      expect(departure.operation.followsId).toBe(move.operation.id);
      expect(due).toEqual([move.operation.id, arrival.operation.id]);
      expect(await operations.due(minutes(30), 1)).toEqual([move.operation.id]);
      expect(await operations.due(minutes(15), 2)).toEqual([move.operation.id]);
    });
  });
});
