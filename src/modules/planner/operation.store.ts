import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql, sqlText } from '../../database/raw-sql.js';
import { Operation } from './operation.entity.js';
import type { OperationState, OperationType } from './operation.entity.js';

/** A planned operation due to run, with the avatar it consumes. */
export interface DueOperation {
  id: string;
  inputAvatarId: string | null;
}

/** Where a page of due operations ended: the next page starts after it. */
export interface DueCursor {
  /** The last operation's time as the database returned it, so it compares exactly. */
  dtExecution: unknown;
  id: string;
}

/** The operation table. */
@Injectable()
export class OperationStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(manager: EntityManager, operations: Operation[]): Promise<void> {
    await manager.insert(Operation, operations);
  }

  byId(id: string, manager: EntityManager = this.dataSource.manager): Promise<Operation | null> {
    return manager.findOneBy(Operation, { id });
  }

  page(
    filter: { state?: OperationState; type?: OperationType; request?: string; goods?: string },
    page: PageQueryDto,
  ): Promise<Page<Operation>> {
    const query = this.dataSource.manager.createQueryBuilder(Operation, 'operation');
    if (filter.state !== undefined) query.andWhere('operation.state = :state', { state: filter.state });
    if (filter.type !== undefined) query.andWhere('operation.type = :type', { type: filter.type });
    if (filter.request !== undefined)
      query.andWhere('operation.requestId = :request', { request: filter.request });
    if (filter.goods !== undefined) query.andWhere('operation.goodsId = :goods', { goods: filter.goods });
    return paginate(query, page);
  }

  /** Planned or started to done; false when another process got there first. */
  async markDone(manager: EntityManager, id: string, now: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE operation SET state = 'done', executed_at = ?, updated_at = ? WHERE id = ? AND state IN ('planned', 'started')`,
      [now, now, id],
    );
    return affected === 1;
  }

  async markCancelled(manager: EntityManager, id: string, now: Date): Promise<void> {
    await manager.update(Operation, { id }, { state: 'cancelled', updatedAt: now });
  }

  /** The planned operations whose input is this one's outcome. */
  plannedFollowersOf(manager: EntityManager, id: string): Promise<Operation[]> {
    return manager.find(Operation, { where: { followsId: id, state: 'planned' } });
  }

  /** A request's planned operations, newest first. */
  async plannedIdsOfRequest(manager: EntityManager, requestId: string): Promise<string[]> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM operation WHERE request_id = ? AND state = 'planned' ORDER BY id DESC`,
      [requestId],
    );
    return rows.map(({ id }) => sqlText(id));
  }

  countOpen(manager: EntityManager, requestId: string): Promise<number> {
    return manager.countBy(Operation, { requestId, state: In(['planned', 'started']) });
  }

  countDone(manager: EntityManager, requestId: string): Promise<number> {
    return manager.countBy(Operation, { requestId, state: 'done' });
  }

  /** Planned operations due by `now`, oldest first, after `cursor`. */
  async due(
    now: Date,
    limit: number,
    cursor: DueCursor | null,
  ): Promise<{ operations: DueOperation[]; cursor: DueCursor | null }> {
    const after = cursor === null ? '' : ' AND (o.dt_execution > ? OR (o.dt_execution = ? AND o.id > ?))';
    const { rows } = await rawSql<{ id: string; input_avatar_id: string | null; dt_execution: unknown }>(
      this.dataSource.manager,
      `SELECT o.id, o.input_avatar_id, o.dt_execution FROM operation o
       WHERE o.state = 'planned' AND o.dt_execution <= ?${after}
       ORDER BY o.dt_execution, o.id LIMIT ?`,
      cursor === null ? [now, limit] : [now, cursor.dtExecution, cursor.dtExecution, cursor.id, limit],
    );
    const operations = rows.map((r) => ({
      id: sqlText(r.id),
      inputAvatarId: r.input_avatar_id === null ? null : sqlText(r.input_avatar_id),
    }));
    const last = rows.at(-1);
    return {
      operations,
      cursor: last === undefined ? null : { dtExecution: last.dt_execution, id: sqlText(last.id) },
    };
  }
}
