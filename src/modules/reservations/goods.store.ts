import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { insertEntities, rawSql } from '../../database/raw-sql.js';
import { Goods } from './goods.entity.js';
import type { GoodsInput } from './reservations.contract.js';

/** Objects counted by GoodsService.stock. */
export interface StockCount {
  present: number;
  future: number;
  reserved: number;
}

/** The goods table, and counts of goods by their avatars. */
@Injectable()
export class GoodsStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** `count` new objects of a type, in stock and free. */
  async insert(
    manager: EntityManager,
    typeId: string,
    input: GoodsInput,
    count: number,
    now: Date,
  ): Promise<Goods[]> {
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

  byId(id: string): Promise<Goods | null> {
    return this.dataSource.manager.findOneBy(Goods, { id });
  }

  /** Goods of a type, and those at or due at a location or one inside it. */
  page(filter: { typeId?: string; locationId?: string }, page: PageQueryDto): Promise<Page<Goods>> {
    const query = this.dataSource.manager.createQueryBuilder(Goods, 'goods');
    if (filter.typeId !== undefined) query.andWhere('goods.typeId = :typeId', { typeId: filter.typeId });
    if (filter.locationId !== undefined) {
      query.andWhere(
        `EXISTS (SELECT 1 FROM avatar a WHERE a.goods_id = goods.id AND a.state IN ('present', 'future')
           AND a.location_id IN ${locationAndInside(':locationId')})`,
        { locationId: filter.locationId },
      );
    }
    return paginate(query, page);
  }

  /** See GoodsService.stock. */
  async stock(filter: { locationId?: string; typeId?: string; at?: Date }): Promise<StockCount> {
    const manager = this.dataSource.manager;
    const where = [`a.state IN ('present', 'future')`];
    const params: unknown[] = [];
    if (filter.locationId !== undefined) {
      where.push(`a.location_id IN ${locationAndInside('?')}`);
      params.push(filter.locationId);
    }
    if (filter.typeId !== undefined) {
      where.push('g.type_id = ?');
      params.push(filter.typeId);
    }
    if (filter.at !== undefined) {
      where.push('a.dt_from <= ? AND (a.dt_until IS NULL OR a.dt_until > ?)');
      params.push(filter.at, filter.at);
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

  /** In stock: the object is here or due, and nothing plans to take it away (its tip exists). */
  async refreshInStock(manager: EntityManager, goodsIds: string[]): Promise<void> {
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
