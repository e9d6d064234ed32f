import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager, QueryRunner } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { inChunks, rawSql, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { demandKey, propertiesMatch } from './properties-match.js';
import { IDLE_BACKOFF_MAX_MS, LaneLoop } from './lane-loop.js';
import type { LeaderLock } from './lane-loop.js';
import { readSupplyVersion } from './supply-version.js';

/** What one reserver batch did. */
export interface BatchOutcome {
  /** Requests looked at. */
  examined: number;
  /** Of them, requests now fully reserved. */
  reserved: number;
  /** Objects promised. */
  goods: number;
}

/** The smallest uuid: every goods id is greater. */
const BEFORE_ALL = '00000000-0000-0000-0000-000000000000';
const LOCK_RETRIES = 3;
/** Rows per multi-row statement: well under both databases' limits on parameters. */
const CHUNK = 400;

/**
 * The reserver role: one loop per lane turns pending requests into reservations strictly in id
 * order. Each batch is one transaction: it reads the supply version, takes the lane's pending
 * requests not yet examined at that version, and gives each item free goods of its type whose
 * properties match, oldest goods first. A request keeps what it got; one that got everything is
 * `reserved`, one that did not is noted as examined at this version and looked at again when the
 * supply changes. On PostgreSQL the goods are locked with FOR UPDATE NOWAIT (a conflict retries
 * the batch), and one process per lane holds an advisory lock for the lane.
 */
@Injectable()
export class ReserverService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reserver');
  private readonly lanes = new Map<string, LaneLoop>();
  private readonly reservedListeners: (() => void)[] = [];
  private discoveryTimer: NodeJS.Timeout | undefined;
  private active = false;

  constructor(
    private readonly config: AppConfig,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
    private readonly events: EventIntakeService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.hasRole('reserver')) return;
    this.active = true;
    await this.discoverLanes();
    // Requests created through other processes arrive in lanes this one may not know yet.
    this.discoveryTimer = setInterval(() => {
      this.discoverLanes().catch((error: unknown) =>
        this.logger.error(`finding lanes failed: ${String(error)}`),
      );
    }, IDLE_BACKOFF_MAX_MS);
    this.discoveryTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.active = false;
    clearInterval(this.discoveryTimer);
    await Promise.allSettled([...this.lanes.values()].map((loop) => loop.stop()));
    this.lanes.clear();
  }

  /** Wakes the loop of a lane (starting it if new), or every loop when goods arrived. */
  wake(lane?: string): void {
    if (!this.active) return;
    if (lane === undefined) {
      for (const loop of this.lanes.values()) loop.wake();
      return;
    }
    this.loopOf(lane).wake();
  }

  /** `listener` runs after a batch in this process made requests reserved (planners wait on it). */
  onReserved(listener: () => void): void {
    this.reservedListeners.push(listener);
  }

  /** The lanes this process serves now: on PostgreSQL, those whose advisory lock it holds. */
  leadingLanes(): string[] {
    return [...this.lanes.values()]
      .filter((loop) => loop.leading)
      .map((loop) => loop.lane)
      .sort();
  }

  /** Tells the planners of this process that requests are ready to plan. */
  announceReserved(): void {
    for (const listener of this.reservedListeners) listener();
  }

  /** Runs batches on a lane until none finds work. For tests and the benchmark; the loops do this. */
  async drain(lane: string): Promise<BatchOutcome> {
    const total: BatchOutcome = { examined: 0, reserved: 0, goods: 0 };
    for (;;) {
      const outcome = await this.reserveBatch(lane);
      if (outcome.examined === 0) return total;
      total.examined += outcome.examined;
      total.reserved += outcome.reserved;
      total.goods += outcome.goods;
    }
  }

  /** Whether a lane has requests to look at, read without a transaction (idle loops poll this). */
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

  /** One batch on a lane, retried when PostgreSQL finds goods locked by another transaction. */
  async reserveBatch(lane: string): Promise<BatchOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.db.transaction((manager) => this.serveBatch(manager, lane));
        if (outcome.reserved > 0) this.announceReserved();
        return outcome;
      } catch (error) {
        if (!isLockNotAvailable(error) || attempt > LOCK_RETRIES) throw error;
        await sleep(10 * attempt);
      }
    }
  }

  private async serveBatch(manager: EntityManager, lane: string): Promise<BatchOutcome> {
    const version = await readSupplyVersion(manager, true);
    const { rows: requests } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM reservation_request
       WHERE lane = ? AND status = 'pending' AND checked_version < ?
       ORDER BY id LIMIT ?`,
      [lane, version, this.config.reservations.reserverBatch],
    );
    const outcome: BatchOutcome = { examined: requests.length, reserved: 0, goods: 0 };
    if (requests.length === 0) return outcome;
    const items = await this.itemsOf(
      manager,
      requests.map((r) => r.id),
    );
    const finder = new FreeGoodsFinder(manager, manager.connection.options.type === 'postgres');
    const taken: { goodsId: string; itemId: string; requestId: string }[] = [];
    const changedItems: { id: string; reservedQuantity: number }[] = [];
    const reserved: string[] = [];
    const unsatisfied: string[] = [];
    for (const { id: requestId } of requests) {
      let complete = true;
      for (const item of items.get(requestId) ?? []) {
        const need = item.quantity - item.reservedQuantity;
        if (need === 0) continue;
        const goods = await finder.take(item.goodsTypeId, item.properties, need);
        if (goods.length < need) complete = false;
        if (goods.length === 0) continue;
        for (const goodsId of goods) taken.push({ goodsId, itemId: item.id, requestId });
        changedItems.push({ id: item.id, reservedQuantity: item.reservedQuantity + goods.length });
      }
      (complete ? reserved : unsatisfied).push(requestId);
    }
    await this.record(manager, taken, changedItems, reserved, unsatisfied, version);
    await this.events.emitOwn(
      manager,
      reserved.map((requestId) => ({ name: 'reservation.reserved', data: { requestId, lane } })),
    );
    outcome.reserved = reserved.length;
    outcome.goods = taken.length;
    return outcome;
  }

  private async itemsOf(manager: EntityManager, requestIds: string[]): Promise<Map<string, PendingItem[]>> {
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

  private async record(
    manager: EntityManager,
    taken: { goodsId: string; itemId: string; requestId: string }[],
    changedItems: { id: string; reservedQuantity: number }[],
    reserved: string[],
    unsatisfied: string[],
    version: number,
  ): Promise<void> {
    const now = this.clock.now();
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

  private async discoverLanes(): Promise<void> {
    if (!this.active) return;
    const { rows } = await rawSql<{ lane: string }>(
      this.dataSource.manager,
      `SELECT DISTINCT lane FROM reservation_request WHERE status = 'pending'`,
    );
    for (const { lane } of rows) this.loopOf(sqlText(lane));
  }

  private loopOf(lane: string): LaneLoop {
    let loop = this.lanes.get(lane);
    if (!loop) {
      loop = new LaneLoop(lane, this, this.leaderLock(lane), this.logger);
      this.lanes.set(lane, loop);
      loop.start();
    }
    return loop;
  }

  /** PostgreSQL: a session advisory lock per lane, on a connection of its own, held while leading. */
  private leaderLock(lane: string): LeaderLock {
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

interface PendingItem {
  id: string;
  goodsTypeId: string;
  quantity: number;
  properties: Record<string, unknown>;
  reservedQuantity: number;
}

/**
 * Free goods for one batch. Goods are read in id order per demand (type and wanted properties),
 * from where the previous read of that demand stopped: goods it passed were taken or do not match,
 * and none is freed within a batch. A demand that ran out stays out for the rest of the batch.
 */
class FreeGoodsFinder {
  private readonly cursors = new Map<string, string>();
  private readonly exhausted = new Set<string>();
  private readonly taken = new Set<string>();

  constructor(
    private readonly manager: EntityManager,
    private readonly postgres: boolean,
  ) {}

  async take(goodsTypeId: string, wanted: Record<string, unknown>, need: number): Promise<string[]> {
    const key = demandKey(goodsTypeId, wanted);
    if (this.exhausted.has(key)) return [];
    const filtered = Object.keys(wanted).length > 0;
    const pageSize = Math.min(Math.max(filtered ? need * 4 : need + 8, 32), 1000);
    const got: string[] = [];
    let cursor = this.cursors.get(key) ?? BEFORE_ALL;
    while (got.length < need) {
      const { rows } = await rawSql<{ id: string; properties: string }>(
        this.manager,
        `SELECT id, properties FROM goods
         WHERE type_id = ? AND reserved = ? AND in_stock = ? AND id > ?
         ORDER BY id LIMIT ?${this.postgres ? ' FOR UPDATE NOWAIT' : ''}`,
        [goodsTypeId, false, true, cursor, pageSize],
      );
      for (const row of rows) {
        if (got.length === need) break;
        cursor = row.id;
        if (this.taken.has(row.id)) continue;
        if (filtered && !propertiesMatch(JSON.parse(row.properties) as Record<string, unknown>, wanted))
          continue;
        this.taken.add(row.id);
        got.push(row.id);
      }
      if (rows.length < pageSize && got.length < need) {
        this.exhausted.add(key);
        break;
      }
    }
    this.cursors.set(key, cursor);
    return got;
  }
}

function isLockNotAvailable(error: unknown): boolean {
  return error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '55P03';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
