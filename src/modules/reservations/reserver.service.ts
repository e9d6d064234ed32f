import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { demandKey, propertiesMatch } from './properties-match.js';
import { IDLE_BACKOFF_MAX_MS, LaneLoop } from './lane-loop.js';
import { ReserverStore } from './reserver.store.js';
import type { TakenGoods } from './reserver.store.js';
import { SupplyVersionStore } from './supply-version.store.js';

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
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly events: EventIntakeService,
    private readonly store: ReserverStore,
    private readonly versions: SupplyVersionStore,
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
  hasWork(lane: string): Promise<boolean> {
    return this.store.hasWork(lane);
  }

  /** One batch on a lane, retried when PostgreSQL finds goods locked by another transaction. */
  async reserveBatch(lane: string): Promise<BatchOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.serializer.transaction((manager) => this.serveBatch(manager, lane));
        if (outcome.reserved > 0) this.announceReserved();
        return outcome;
      } catch (error) {
        if (!this.store.isLockConflict(error) || attempt > LOCK_RETRIES) throw error;
        await sleep(10 * attempt);
      }
    }
  }

  private async serveBatch(manager: EntityManager, lane: string): Promise<BatchOutcome> {
    const version = await this.versions.read(manager, true);
    const requests = await this.store.pendingRequests(
      manager,
      lane,
      version,
      this.config.reservations.reserverBatch,
    );
    const outcome: BatchOutcome = { examined: requests.length, reserved: 0, goods: 0 };
    if (requests.length === 0) return outcome;
    const items = await this.store.itemsOf(manager, requests);
    const finder = new FreeGoodsFinder(manager, this.store);
    const taken: TakenGoods[] = [];
    const changedItems: { id: string; reservedQuantity: number }[] = [];
    const reserved: string[] = [];
    const unsatisfied: string[] = [];
    for (const requestId of requests) {
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
    await this.store.record(manager, {
      taken,
      changedItems,
      reserved,
      unsatisfied,
      version,
      now: this.clock.now(),
    });
    await this.events.emitOwn(
      manager,
      reserved.map((requestId) => ({ name: 'reservation.reserved', data: { requestId, lane } })),
    );
    outcome.reserved = reserved.length;
    outcome.goods = taken.length;
    return outcome;
  }

  private async discoverLanes(): Promise<void> {
    if (!this.active) return;
    for (const lane of await this.store.pendingLanes()) this.loopOf(lane);
  }

  private loopOf(lane: string): LaneLoop {
    let loop = this.lanes.get(lane);
    if (!loop) {
      loop = new LaneLoop(lane, this, this.store.leaderLock(lane), this.logger);
      this.lanes.set(lane, loop);
      loop.start();
    }
    return loop;
  }
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
    private readonly store: ReserverStore,
  ) {}

  async take(goodsTypeId: string, wanted: Record<string, unknown>, need: number): Promise<string[]> {
    const key = demandKey(goodsTypeId, wanted);
    if (this.exhausted.has(key)) return [];
    const filtered = Object.keys(wanted).length > 0;
    const pageSize = Math.min(Math.max(filtered ? need * 4 : need + 8, 32), 1000);
    const got: string[] = [];
    let cursor = this.cursors.get(key) ?? BEFORE_ALL;
    while (got.length < need) {
      const { rows } = await this.store.freeGoodsPage(this.manager, goodsTypeId, cursor, pageSize);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
