import { startServiceModule } from '../../../test/support/service-module.js';
import type { ServiceModule } from '../../../test/support/service-module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { CatalogueService } from './catalogue.service.js';
import { GoodsService } from './goods.service.js';
import { PurposeTypes } from './purpose-types.service.js';
import { ReservationRequestsService } from './reservation-requests.service.js';
import { ReservationsModule } from './reservations.module.js';
import { ReserverService } from './reserver.service.js';

/**
 * Reservation requests and the supply version on a real SQLite file, without HTTP and without
 * the reserver loops (role `api`): each test drives the reserver itself.
 */
describe('ReservationRequestsService', () => {
  let service: ServiceModule;
  let requests: ReservationRequestsService;
  let reserver: ReserverService;
  let goods: GoodsService;

  beforeEach(async () => {
    service = await startServiceModule(
      (config) => ({ imports: [JobsModule.forRoot(config), ReservationsModule] }),
      { JUNCTION_ROLES: 'api' },
    );
    requests = service.module.get(ReservationRequestsService);
    reserver = service.module.get(ReserverService);
    goods = service.module.get(GoodsService);
    // No planner module here: the purpose is known as a planner would register it.
    service.module.get(PurposeTypes).register('test');
    const catalogue = service.module.get(CatalogueService);
    await catalogue.createGoodsType({ code: 'lamp' });
    await catalogue.createLocation({ code: 'shelf' });
  });
  afterEach(() => service.close());

  const lampRequest = () =>
    requests.create({ purpose: { type: 'test' }, items: [{ goodsType: 'lamp', quantity: 1 }] });

  it('gives the goods of a cancelled request to the request waiting after it', async () => {
    await goods.enterGoods({ goodsType: 'lamp', location: 'shelf' });
    const { request: first } = await lampRequest();
    const { request: second } = await lampRequest();
    await reserver.drain('main');
    expect(await reserver.hasWork('main')).toBe(false);

    await requests.cancel(first.id);

    expect(await reserver.hasWork('main')).toBe(true);
    expect(await reserver.drain('main')).toEqual({ examined: 1, reserved: 1, goods: 1 });
    const { request, reservations } = await requests.get(second.id);
    expect(request.status).toBe('reserved');
    expect(reservations).toHaveLength(1);
    expect((await requests.get(first.id)).reservations).toEqual([]);
  });

  it('looks at a waiting request again only when the supply changes', async () => {
    const { request } = await lampRequest();
    expect(await reserver.drain('main')).toMatchObject({ examined: 1, reserved: 0 });
    expect(await reserver.drain('main')).toMatchObject({ examined: 0 });

    await goods.enterGoods({ goodsType: 'lamp', location: 'shelf' });

    expect(await reserver.drain('main')).toEqual({ examined: 1, reserved: 1, goods: 1 });
    expect((await requests.get(request.id)).request.status).toBe('reserved');
  });

  it('refuses with REQUEST_FINISHED when the request is cancelled already', async () => {
    const { request } = await lampRequest();
    await requests.cancel(request.id);

    await expect(requests.cancel(request.id)).rejects.toMatchObject({ code: 'REQUEST_FINISHED' });
  });

  it('returns the first request when its idempotency key is used again', async () => {
    const key = { idempotencyKey: 'order:1' };
    const { request: first } = await requests.create({ purpose: { type: 'test' }, items: [], ...key });

    const again = await requests.create({ purpose: { type: 'test' }, items: [], ...key });

    expect(again).toMatchObject({ duplicate: true, request: { id: first.id } });
  });
});
