import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager, QueryRunner } from 'typeorm';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { inChunks, rawSql, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import type { LeaderLock } from './lane-loop.js';

/** An item of a request the reserver looks at, with what it still lacks. */
export interface PendingItem {
  id: string;
  goodsTypeId: string;
  quantity: number;
  properties: Record<string, unknown>;
  reservedQuantity: number;
}

/** An object a batch promises to an item of a request. */
export interface TakenGoods {
  goodsId: string;
  itemId: string;
  requestId: string;
}

/** What a batch decided, written in one go at its end. */
export interface BatchRecord {
  taken: TakenGoods[];
  changedItems: { id: string; reservedQuantity: number }[];
  /** Requests now fully reserved. */
  reserved: string[];
  /** Requests still short, examined at `version`. */
  unsatisfied: string[];
  version: number;
  now: Date;
}

/** Rows per multi-row statement: well under both databases' limits on parameters. */
const CHUNK = 400;

/** The reserver's reads and writes: pending requests of a lane, free goods, and a batch's outcome. */
@Injectable()
export class ReserverStore {
  constructor(
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Whether a lane has requests not yet examined at the current supply version, read without a transaction. */
  async hasWork(lane: string): Promise<boolean> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT 1 AS found FROM reservation_request
       WHERE lane = ? AND status = 'pending' AND checked_version < (SELECT version FROM supply_version WHERE name = 'goods')
       LIMIT 1`,
      [lane],
    );
    return rows.length > 0;
  }

  /** The lanes with pending requests. */
  async pendingLanes(): Promise<string[]> {
    const { rows } = await rawSql<{ lane: string }>(
      this.dataSource.manager,
      `SELECT DISTINCT lane FROM reservation_request WHERE status = 'pending'`,
    );
    return rows.map(({ lane }) => sqlText(lane));
  }

  /** A lane's pending requests not examined at `version`, in id order. */
  async pendingRequests(
    manager: EntityManager,
    lane: string,
    version: number,
    limit: number,
  ): Promise<string[]> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM reservation_request
       WHERE lane = ? AND status = 'pending' AND checked_version < ?
       ORDER BY id LIMIT ?`,
      [lane, version, limit],
    );
    return rows.map((r) => r.id);
  }

  /** The items of these requests, by request, in position order. */
  async itemsOf(manager: EntityManager, requestIds: string[]): Promise<Map<string, PendingItem[]>> {
    const items = new Map<string, PendingItem[]>();
    for (const ids of inChunks(requestIds, CHUNK)) {
      const { rows } = await rawSql<{
        id: string;
        request_id: string;
        goods_type_id: string;
        quantity: number;
        properties: string;
        reserved_quantity: number;
      }>(
        manager,
        `SELECT id, request_id, goods_type_id, quantity, properties, reserved_quantity FROM request_item
         WHERE request_id IN (${sqlPlaceholders(ids.length)}) ORDER BY request_id, position`,
        ids,
      );
      for (const row of rows) {
        const list = items.get(row.request_id) ?? [];
        list.push({
          id: row.id,
          goodsTypeId: row.goods_type_id,
          quantity: Number(row.quantity),
          properties: JSON.parse(row.properties) as Record<string, unknown>,
          reservedQuantity: Number(row.reserved_quantity),
        });
        items.set(row.request_id, list);
      }
    }
    return items;
  }

  /**
   * Up to `limit` free goods of a type after `after`, in id order, with their properties as
   * stored. PostgreSQL locks them with NOWAIT: goods another transaction holds fail the batch
   * at once (see isLockConflict) instead of making it wait.
   */
  freeGoodsPage(
    manager: EntityManager,
    goodsTypeId: string,
    after: string,
    limit: number,
  ): Promise<{ rows: { id: string; properties: string }[] }> {
    const postgres = manager.connection.options.type === 'postgres';
    return rawSql<{ id: string; properties: string }>(
      manager,
      `SELECT id, properties FROM goods
       WHERE type_id = ? AND reserved = ? AND in_stock = ? AND id > ?
       ORDER BY id LIMIT ?${postgres ? ' FOR UPDATE NOWAIT' : ''}`,
      [goodsTypeId, false, true, after, limit],
    );
  }

  /** Whether a batch failed because PostgreSQL found goods locked by another transaction. */
  isLockConflict(error: unknown): boolean {
    return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '55P03';
  }

  /** Writes a batch's outcome: reservations, the goods' flags, item counts and request states. */
  async record(manager: EntityManager, batch: BatchRecord): Promise<void> {
    const { taken, changedItems, reserved, unsatisfied, version, now } = batch;
    for (const part of inChunks(taken, CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO reservation (id, goods_id, request_item_id, request_id, quantity, created_at)
         VALUES ${part.map(() => '(?, ?, ?, ?, 1, ?)').join(', ')}`,
        part.flatMap((t) => [newId(), t.goodsId, t.itemId, t.requestId, now]),
      );
      await rawSql(manager, `UPDATE goods SET reserved = ? WHERE id IN (${sqlPlaceholders(part.length)})`, [
        true,
        ...part.map((t) => t.goodsId),
      ]);
    }
    for (const item of changedItems) {
      await rawSql(manager, `UPDATE request_item SET reserved_quantity = ? WHERE id = ?`, [
        item.reservedQuantity,
        item.id,
      ]);
    }
    for (const part of inChunks(reserved, CHUNK)) {
      await rawSql(
        manager,
        `UPDATE reservation_request SET status = 'reserved', reserved = ?, updated_at = ?
         WHERE id IN (${sqlPlaceholders(part.length)})`,
        [true, now, ...part],
      );
    }
    for (const part of inChunks(unsatisfied, CHUNK)) {
      await rawSql(
        manager,
        `UPDATE reservation_request SET checked_version = ? WHERE id IN (${sqlPlaceholders(part.length)})`,
        [version, ...part],
      );
    }
  }

  /**
   * Leadership of a lane across processes. PostgreSQL: a session advisory lock per lane, on a
   * connection of its own, held while leading. SQLite is one process: always held.
   */
  leaderLock(lane: string): LeaderLock {
    const { database } = this.config;
    if (database.kind !== 'postgres')
      return { acquire: () => Promise.resolve(true), release: () => Promise.resolve() };
    const key = `junction.reserver:${database.schema}:${lane}`;
    let runner: QueryRunner | undefined;
    return {
      acquire: async () => {
        runner ??= this.dataSource.createQueryRunner();
        const rows = (await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [key])) as {
          locked: boolean;
        }[];
        return rows[0].locked;
      },
      release: async () => {
        if (!runner) return;
        const held = runner;
        runner = undefined;
        // Closing the session frees its advisory locks.
        await held.release();
      },
    };
  }
}
