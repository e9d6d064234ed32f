import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { Avatar } from './avatar.entity.js';
import { AvatarStore } from './avatar.store.js';
import { CatalogueService } from './catalogue.service.js';
import type { Goods } from './goods.entity.js';
import { GoodsStore } from './goods.store.js';
import type { StockCount } from './goods.store.js';
import { ReservationError } from './reservation.error.js';
import type { GoodsInput } from './reservations.contract.js';
import { SupplyService } from './supply.service.js';

export type { StockCount } from './goods.store.js';

export interface StockQuery {
  goodsType?: string;
  location?: string;
  at?: Date;
}

/** Goods and the stock they make up. */
@Injectable()
export class GoodsService {
  constructor(
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly catalogue: CatalogueService,
    private readonly supply: SupplyService,
    private readonly store: GoodsStore,
    private readonly avatars: AvatarStore,
  ) {}

  /**
   * Enters `count` objects present at a location from now on, such as stock counted on the shelf.
   * Requests waiting for their type are served next.
   */
  async enterGoods(input: GoodsInput & { location: string; count?: number }): Promise<Goods[]> {
    return this.serializer.transaction(async (manager) => {
      await this.supply.announceChange(manager);
      const type = await this.catalogue.goodsTypeByCode(input.goodsType, manager);
      const location = await this.catalogue.locationByCode(input.location, manager);
      const now = this.clock.now();
      const goods = await this.store.insert(manager, type.id, input, input.count ?? 1, now);
      await this.avatars.insert(
        manager,
        goods.map((g) => ({
          goodsId: g.id,
          locationId: location.id,
          state: 'present',
          dtFrom: now,
          outcomeOf: null,
        })),
      );
      return goods;
    });
  }

  /**
   * New goods of the line's type, in stock and free, in the caller's transaction, which gives
   * them their first avatars and announces the supply change.
   */
  async addGoods(manager: EntityManager, line: GoodsInput, count: number): Promise<Goods[]> {
    const type = await this.catalogue.goodsTypeByCode(line.goodsType, manager);
    return this.store.insert(manager, type.id, line, count, this.clock.now());
  }

  async listGoods(
    filter: { goodsType?: string; location?: string },
    page: PageQueryDto,
  ): Promise<Page<Goods>> {
    const typeId =
      filter.goodsType === undefined
        ? undefined
        : (await this.catalogue.goodsTypeByCode(filter.goodsType)).id;
    const locationId =
      filter.location === undefined ? undefined : (await this.catalogue.locationByCode(filter.location)).id;
    return this.store.page({ typeId, locationId }, page);
  }

  /** One object with every avatar it has had, has and will have, oldest first. */
  async getGoods(id: string): Promise<{ goods: Goods; avatars: Avatar[] }> {
    const goods = await this.store.byId(id);
    if (!goods) throw new ReservationError('GOODS_NOT_FOUND', `no goods ${id}`);
    const avatars = await this.avatars.ofGoods(id);
    return { goods, avatars };
  }

  /**
   * How many objects are at a location (and the locations inside it) at a time: `present` and
   * `future` count avatars by state; with `at`, only those whose span holds `at`, so planned moves
   * and departures are out and arrivals due by then are in. `reserved` counts those of them
   * promised to a request.
   */
  async stock(query: StockQuery): Promise<StockCount> {
    const locationId =
      query.location === undefined ? undefined : (await this.catalogue.locationByCode(query.location)).id;
    const typeId =
      query.goodsType === undefined ? undefined : (await this.catalogue.goodsTypeByCode(query.goodsType)).id;
    return this.store.stock({ locationId, typeId, at: query.at });
  }
}
