import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { insertEntities, rawSql, sqlText } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Avatar } from './avatar.entity.js';
import { GoodsType } from './goods-type.entity.js';
import { Goods } from './goods.entity.js';
import { Location } from './location.entity.js';
import { ReservationError } from './reservation.error.js';
import { ReserverService } from './reserver.service.js';
import { bumpSupplyVersion } from './supply-version.js';

export interface GoodsInput {
  /** A goods type code. */
  goodsType: string;
  code?: string | null;
  properties?: Record<string, unknown>;
}

export interface StockQuery {
  goodsType?: string;
  location?: string;
  at?: Date;
}

export interface StockCount {
  present: number;
  future: number;
  reserved: number;
}

/** Goods types, locations and goods, with where each object is over time. */
@Injectable()
export class GoodsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
    private readonly reserver: ReserverService,
  ) {}

  async createGoodsType(input: { code: string; label?: string; properties?: Record<string, unknown> }) {
    const type = Object.assign(new GoodsType(), {
      id: newId(),
      code: input.code,
      label: input.label ?? input.code,
      properties: input.properties ?? {},
      createdAt: this.clock.now(),
    });
    try {
      return await this.db.transaction((manager) => manager.save(type));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ReservationError('GOODS_TYPE_CODE_TAKEN', `a goods type with code ${input.code} exists`);
    }
  }

  listGoodsTypes(page: PageQueryDto): Promise<Page<GoodsType>> {
    return paginate(this.dataSource.manager.createQueryBuilder(GoodsType, 'goods_type'), page);
  }

  async getGoodsType(id: string): Promise<GoodsType> {
    const type = await this.dataSource.manager.findOneBy(GoodsType, { id });
    if (!type) throw new ReservationError('GOODS_TYPE_NOT_FOUND', `no goods type ${id}`);
    return type;
  }

  /** The goods type a request or goods names by code; an unknown code is refused (422). */
  async goodsTypeByCode(manager: EntityManager, code: string): Promise<GoodsType> {
    const type = await manager.findOneBy(GoodsType, { code });
    if (!type) throw new ReservationError('UNKNOWN_GOODS_TYPE', `no goods type has code ${code}`, { code });
    return type;
  }

  async createLocation(input: { code: string; label?: string; parent?: string | null }): Promise<Location> {
    try {
      return await this.db.transaction(async (manager) => {
        const parent = input.parent ? await this.locationByCode(manager, input.parent) : null;
        return manager.save(
          Object.assign(new Location(), {
            id: newId(),
            code: input.code,
            label: input.label ?? input.code,
            parentId: parent?.id ?? null,
            createdAt: this.clock.now(),
          }),
        );
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ReservationError('LOCATION_CODE_TAKEN', `a location with code ${input.code} exists`);
    }
  }

  listLocations(page: PageQueryDto): Promise<Page<Location>> {
    return paginate(this.dataSource.manager.createQueryBuilder(Location, 'location'), page);
  }

  async getLocation(id: string): Promise<Location> {
    const location = await this.dataSource.manager.findOneBy(Location, { id });
    if (!location) throw new ReservationError('LOCATION_NOT_FOUND', `no location ${id}`);
    return location;
  }

  async locationByCode(manager: EntityManager, code: string): Promise<Location> {
    const location = await manager.findOneBy(Location, { code });
    if (!location) throw new ReservationError('UNKNOWN_LOCATION', `no location has code ${code}`, { code });
    return location;
  }

  /** The location with this code, created (labelled with its code) if there is none yet. */
  async ensureLocation(manager: EntityManager, code: string): Promise<Location> {
    const existing = await manager.findOneBy(Location, { code });
    if (existing) return existing;
    await rawSql(
      manager,
      `INSERT INTO location (id, code, label, parent_id, created_at) VALUES (?, ?, ?, NULL, ?)
       ON CONFLICT DO NOTHING`,
      [newId(), code, code, this.clock.now()],
    );
    return this.locationByCode(manager, code);
  }

  /**
   * Enters `count` objects present at a location from now on, such as stock counted on the shelf.
   * Requests waiting for their type are served next.
   */
  async enterGoods(input: GoodsInput & { location: string; count?: number }): Promise<Goods[]> {
    return this.db.transaction(async (manager) => {
      await bumpSupplyVersion(manager);
      const type = await this.goodsTypeByCode(manager, input.goodsType);
      const location = await this.locationByCode(manager, input.location);
      const now = this.clock.now();
      const goods = await this.insertGoods(manager, type.id, input, input.count ?? 1);
      await this.insertAvatars(
        manager,
        goods.map((g) => ({
          goodsId: g.id,
          locationId: location.id,
          state: 'present',
          dtFrom: now,
          outcomeOf: null,
        })),
      );
      this.db.afterCommit(manager, () => this.reserver.wake());
      return goods;
    });
  }

  /** New goods rows, in stock and free; the caller gives them their first avatars. */
  async insertGoods(
    manager: EntityManager,
    typeId: string,
    input: GoodsInput,
    count: number,
  ): Promise<Goods[]> {
    const now = this.clock.now();
    const goods = Array.from({ length: count }, () =>
      Object.assign(new Goods(), {
        id: newId(),
        typeId,
        code: input.code ?? null,
        properties: input.properties ?? {},
        reserved: false,
        inStock: true,
        createdAt: now,
      }),
    );
    await insertEntities(manager, Goods, goods);
    return goods;
  }

  async insertAvatars(manager: EntityManager, avatars: Omit<Avatar, 'id' | 'dtUntil'>[]): Promise<Avatar[]> {
    const rows = avatars.map((a) => Object.assign(new Avatar(), { id: newId(), dtUntil: null, ...a }));
    await insertEntities(manager, Avatar, rows);
    return rows;
  }

  async listGoods(
    filter: { goodsType?: string; location?: string },
    page: PageQueryDto,
  ): Promise<Page<Goods>> {
    const manager = this.dataSource.manager;
    const query = manager.createQueryBuilder(Goods, 'goods');
    if (filter.goodsType !== undefined) {
      const type = await this.goodsTypeByCode(manager, filter.goodsType);
      query.andWhere('goods.typeId = :typeId', { typeId: type.id });
    }
    if (filter.location !== undefined) {
      const location = await this.locationByCode(manager, filter.location);
      query.andWhere(
        `EXISTS (SELECT 1 FROM avatar a WHERE a.goods_id = goods.id AND a.state IN ('present', 'future')
           AND a.location_id IN ${locationAndInside(':locationId')})`,
        { locationId: location.id },
      );
    }
    return paginate(query, page);
  }

  /** One object with every avatar it has had, has and will have, oldest first. */
  async getGoods(id: string): Promise<{ goods: Goods; avatars: Avatar[] }> {
    const manager = this.dataSource.manager;
    const goods = await manager.findOneBy(Goods, { id });
    if (!goods) throw new ReservationError('GOODS_NOT_FOUND', `no goods ${id}`);
    const avatars = await manager.find(Avatar, {
      where: { goodsId: id },
      order: { dtFrom: 'ASC', id: 'ASC' },
    });
    return { goods, avatars };
  }

  /**
   * How many objects are at a location (and the locations inside it) at a time: `present` and
   * `future` count avatars by state; with `at`, only those whose span holds `at`, so planned moves
   * and departures are out and arrivals due by then are in. `reserved` counts those of them
   * promised to a request.
   */
  async stock(query: StockQuery): Promise<StockCount> {
    const manager = this.dataSource.manager;
    const where = [`a.state IN ('present', 'future')`];
    const params: unknown[] = [];
    if (query.location !== undefined) {
      const location = await this.locationByCode(manager, query.location);
      where.push(`a.location_id IN ${locationAndInside('?')}`);
      params.push(location.id);
    }
    if (query.goodsType !== undefined) {
      const type = await this.goodsTypeByCode(manager, query.goodsType);
      where.push('g.type_id = ?');
      params.push(type.id);
    }
    if (query.at !== undefined) {
      where.push('a.dt_from <= ? AND (a.dt_until IS NULL OR a.dt_until > ?)');
      params.push(query.at, query.at);
    }
    const from = `FROM avatar a JOIN goods g ON g.id = a.goods_id WHERE ${where.join(' AND ')}`;
    const { rows } = await rawSql<{ state: string; n: unknown }>(
      manager,
      `SELECT a.state AS state, COUNT(*) AS n ${from} GROUP BY a.state`,
      params,
    );
    // An object moving within the scope has a present and a future avatar there: count it once.
    const { rows: reserved } = await rawSql<{ n: unknown }>(
      manager,
      `SELECT COUNT(DISTINCT g.id) AS n ${from} AND g.reserved = ?`,
      [...params, true],
    );
    const count: StockCount = { present: 0, future: 0, reserved: Number(reserved[0].n) };
    for (const row of rows) {
      if (row.state === 'present') count.present += Number(row.n);
      else count.future += Number(row.n);
    }
    return count;
  }

  /**
   * The object's latest avatar, the one the next operation on it takes as input: present or future,
   * with no end yet. Null when it has left or is leaving.
   */
  async tipOf(manager: EntityManager, goodsId: string): Promise<Avatar | null> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM avatar WHERE goods_id = ? AND state <> 'past' AND dt_until IS NULL
       ORDER BY dt_from DESC, id DESC LIMIT 1`,
      [goodsId],
    );
    return rows.length === 0 ? null : manager.findOneByOrFail(Avatar, { id: sqlText(rows[0].id) });
  }

  /** A planned operation takes the avatar away at `at`. */
  async endAvatar(manager: EntityManager, avatar: Avatar, at: Date): Promise<void> {
    await manager.update(Avatar, { id: avatar.id }, { dtUntil: at });
    await this.refreshInStock(manager, [avatar.goodsId]);
  }

  /** The operation that was to take the avatar away is cancelled. */
  async reopenAvatar(manager: EntityManager, avatarId: string): Promise<void> {
    const avatar = await manager.findOneByOrFail(Avatar, { id: avatarId });
    await manager.update(Avatar, { id: avatarId }, { dtUntil: null });
    await this.refreshInStock(manager, [avatar.goodsId]);
  }

  async outcomesOf(manager: EntityManager, operationIds: string[]): Promise<Avatar[]> {
    if (operationIds.length === 0) return [];
    return manager
      .createQueryBuilder(Avatar, 'avatar')
      .where('avatar.outcomeOf IN (:...ids)', { ids: operationIds })
      .orderBy('avatar.id', 'ASC')
      .getMany();
  }

  async avatar(manager: EntityManager, id: string): Promise<Avatar | null> {
    return manager.findOneBy(Avatar, { id });
  }

  /**
   * An operation is executed at `at`: its input avatar becomes past (ending then) and its
   * outcomes present (starting then). Goods left without a tip are out of stock.
   */
  async realize(
    manager: EntityManager,
    inputAvatarId: string | null,
    operationId: string,
    at: Date,
  ): Promise<void> {
    const goodsIds = new Set<string>();
    if (inputAvatarId !== null) {
      const input = await manager.findOneByOrFail(Avatar, { id: inputAvatarId });
      await manager.update(
        Avatar,
        { id: input.id },
        { state: 'past', dtUntil: at < input.dtFrom ? input.dtFrom : at },
      );
      goodsIds.add(input.goodsId);
    }
    for (const outcome of await this.outcomesOf(manager, [operationId])) {
      // Executed late, the avatar still ends when its next operation is planned, if that is later.
      const dtUntil = outcome.dtUntil && outcome.dtUntil < at ? at : outcome.dtUntil;
      await manager.update(Avatar, { id: outcome.id }, { state: 'present', dtFrom: at, dtUntil });
      goodsIds.add(outcome.goodsId);
    }
    await this.refreshInStock(manager, [...goodsIds]);
  }

  /** A cancelled operation's outcomes never happen: they are deleted, and goods left without a tip are out of stock. */
  async dropOutcomes(manager: EntityManager, operationId: string): Promise<void> {
    const outcomes = await this.outcomesOf(manager, [operationId]);
    if (outcomes.length === 0) return;
    await manager.delete(
      Avatar,
      outcomes.map((a) => a.id),
    );
    await this.refreshInStock(manager, [...new Set(outcomes.map((a) => a.goodsId))]);
  }

  /** In stock: the object is here or due, and nothing plans to take it away (its tip exists). */
  private async refreshInStock(manager: EntityManager, goodsIds: string[]): Promise<void> {
    for (const goodsId of goodsIds) {
      await rawSql(
        manager,
        `UPDATE goods SET in_stock = EXISTS (
           SELECT 1 FROM avatar
           WHERE avatar.goods_id = goods.id AND avatar.state <> 'past' AND avatar.dt_until IS NULL
         ) WHERE id = ?`,
        [goodsId],
      );
    }
  }
}

/** The ids of a location and of every location inside it, as an SQL subquery on `placeholder`. */
function locationAndInside(placeholder: string): string {
  return `(WITH RECURSIVE inside (id) AS (
      SELECT id FROM location WHERE id = ${placeholder}
      UNION ALL SELECT l.id FROM location l JOIN inside ON l.parent_id = inside.id
    ) SELECT id FROM inside)`;
}
