import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { newId } from '../../common/ids.js';
import { inChunks, insertEntities, rawSql, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import { Avatar } from './avatar.entity.js';
import type { AvatarState } from './avatar.entity.js';
import type { NewAvatar } from './reservations.contract.js';

/** Rows per IN list: well under both databases' limits on parameters. */
const CHUNK = 400;

/** The avatar table: where each object was, is and will be. */
@Injectable()
export class AvatarStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(manager: EntityManager, avatars: NewAvatar[]): Promise<Avatar[]> {
    const rows = avatars.map((a) => Object.assign(new Avatar(), { id: newId(), dtUntil: null, ...a }));
    await insertEntities(manager, Avatar, rows);
    return rows;
  }

  byId(id: string, manager: EntityManager = this.dataSource.manager): Promise<Avatar | null> {
    return manager.findOneBy(Avatar, { id });
  }

  /** An avatar that must exist: its absence is a bug, not a refusal. */
  byIdOrFail(id: string, manager: EntityManager = this.dataSource.manager): Promise<Avatar> {
    return manager.findOneByOrFail(Avatar, { id });
  }

  /** Every avatar of an object, oldest first. */
  ofGoods(goodsId: string): Promise<Avatar[]> {
    return this.dataSource.manager.find(Avatar, {
      where: { goodsId },
      order: { dtFrom: 'ASC', id: 'ASC' },
    });
  }

  /** The latest present or future avatar of an object that has no end yet. */
  async tipOf(goodsId: string, manager: EntityManager = this.dataSource.manager): Promise<Avatar | null> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM avatar WHERE goods_id = ? AND state <> 'past' AND dt_until IS NULL
       ORDER BY dt_from DESC, id DESC LIMIT 1`,
      [goodsId],
    );
    return rows.length === 0 ? null : manager.findOneByOrFail(Avatar, { id: sqlText(rows[0].id) });
  }

  async outcomesOf(
    operationIds: string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Avatar[]> {
    if (operationIds.length === 0) return [];
    return manager
      .createQueryBuilder(Avatar, 'avatar')
      .where('avatar.outcomeOf IN (:...ids)', { ids: operationIds })
      .orderBy('avatar.id', 'ASC')
      .getMany();
  }

  /** Those of `ids` whose state is `state`. */
  async inState(
    ids: string[],
    state: AvatarState,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of inChunks(ids, CHUNK)) {
      const { rows } = await rawSql<{ id: string }>(
        manager,
        `SELECT id FROM avatar WHERE state = ? AND id IN (${sqlPlaceholders(part.length)})`,
        [state, ...part],
      );
      for (const row of rows) found.add(sqlText(row.id));
    }
    return found;
  }

  async update(
    manager: EntityManager,
    id: string,
    fields: Partial<Pick<Avatar, 'state' | 'dtFrom' | 'dtUntil'>>,
  ): Promise<void> {
    await manager.update(Avatar, { id }, fields);
  }

  async delete(manager: EntityManager, ids: string[]): Promise<void> {
    await manager.delete(Avatar, ids);
  }
}
