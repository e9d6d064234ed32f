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
import { EventIntakeService } from '../events/event-intake.service.js';
import { GoodsService } from './goods.service.js';
import { PurposeTypes } from './purpose-types.js';
import { RequestItem } from './request-item.entity.js';
import { DEFAULT_LANE, ReservationRequest } from './reservation-request.entity.js';
import type { Purpose, RequestStatus } from './reservation-request.entity.js';
import { ReservationError } from './reservation.error.js';
import { Reservation } from './reservation.entity.js';
import { ReserverService } from './reserver.service.js';
import { bumpSupplyVersion } from './supply-version.js';

export interface RequestInput {
  purpose: Purpose;
  lane?: string;
  items: { goodsType: string; quantity: number; properties?: Record<string, unknown> }[];
  /** The same key returns the first request instead of making another (an order id, say). */
  idempotencyKey?: string;
}

export interface RequestDetail {
  request: ReservationRequest;
  items: RequestItem[];
  reservations: Reservation[];
}

/** Cancelling a request runs these in its transaction first (the planner cancels its operations). */
export type CancelListener = (manager: EntityManager, requestId: string) => Promise<void>;

/** Reservation requests: their life from created to done or cancelled, and planners' claims on them. */
@Injectable()
export class ReservationRequestsService {
  private readonly cancelListeners: CancelListener[] = [];

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
    private readonly goods: GoodsService,
    private readonly purposes: PurposeTypes,
    private readonly reserver: ReserverService,
    private readonly events: EventIntakeService,
  ) {}

  onCancel(listener: CancelListener): void {
    this.cancelListeners.push(listener);
  }

  /** Queues a request at the end of its lane. `duplicate`: its idempotency key had been used. */
  async create(input: RequestInput): Promise<{ request: ReservationRequest; duplicate: boolean }> {
    const problems = this.purposes.problems(input.purpose);
    if (problems.length > 0) {
      throw new ReservationError('INVALID_PURPOSE', problems.join('; '), {
        purpose: input.purpose.type,
        problems,
      });
    }
    try {
      return await this.db.transaction(async (inTx) => {
        if (input.idempotencyKey !== undefined) {
          const existing = await inTx.findOneBy(ReservationRequest, { idempotencyKey: input.idempotencyKey });
          if (existing) return { request: existing, duplicate: true };
        }
        const now = this.clock.now();
        const request = Object.assign(new ReservationRequest(), {
          id: newId(),
          purpose: input.purpose,
          purposeType: input.purpose.type,
          lane: input.lane ?? DEFAULT_LANE,
          reserved: false,
          planned: false,
          status: 'pending',
          checkedVersion: 0,
          claimedBy: null,
          claimedUntil: null,
          idempotencyKey: input.idempotencyKey ?? null,
          createdAt: now,
          updatedAt: now,
        } satisfies ReservationRequest);
        const items: RequestItem[] = [];
        for (const [position, item] of input.items.entries()) {
          const type = await this.goods.goodsTypeByCode(inTx, item.goodsType);
          items.push(
            Object.assign(new RequestItem(), {
              id: newId(),
              requestId: request.id,
              position,
              goodsTypeId: type.id,
              quantity: item.quantity,
              properties: item.properties ?? {},
              reservedQuantity: 0,
            }),
          );
        }
        await insertEntities(inTx, ReservationRequest, [request]);
        await insertEntities(inTx, RequestItem, items);
        this.db.afterCommit(inTx, () => this.reserver.wake(request.lane));
        return { request, duplicate: false };
      });
    } catch (error) {
      if (input.idempotencyKey === undefined || !isUniqueViolation(error)) throw error;
      const existing = await this.dataSource.manager.findOneBy(ReservationRequest, {
        idempotencyKey: input.idempotencyKey,
      });
      if (!existing) throw error;
      return { request: existing, duplicate: true };
    }
  }

  list(
    filter: { status?: RequestStatus; lane?: string },
    page: PageQueryDto,
  ): Promise<Page<ReservationRequest>> {
    const query = this.dataSource.manager.createQueryBuilder(ReservationRequest, 'request');
    if (filter.status !== undefined) query.andWhere('request.status = :status', { status: filter.status });
    if (filter.lane !== undefined) query.andWhere('request.lane = :lane', { lane: filter.lane });
    return paginate(query, page);
  }

  async get(id: string, manager: EntityManager = this.dataSource.manager): Promise<RequestDetail> {
    const request = await manager.findOneBy(ReservationRequest, { id });
    if (!request) throw new ReservationError('REQUEST_NOT_FOUND', `no reservation request ${id}`);
    const items = await manager.find(RequestItem, { where: { requestId: id }, order: { position: 'ASC' } });
    const reservations = await manager.find(Reservation, {
      where: { requestId: id },
      order: { goodsId: 'ASC' },
    });
    return { request, items, reservations };
  }

  /**
   * Cancels a request that is not finished: its planned operations are cancelled and its goods
   * released for the requests after it.
   */
  async cancel(id: string): Promise<RequestDetail> {
    return this.db.transaction(async (manager) => {
      const { request } = await this.get(id, manager);
      if (request.status === 'done' || request.status === 'cancelled') {
        throw new ReservationError('REQUEST_FINISHED', `request ${id} is ${request.status}`);
      }
      for (const listener of this.cancelListeners) await listener(manager, id);
      await this.release(manager, id);
      await manager.update(
        ReservationRequest,
        { id },
        { status: 'cancelled', claimedBy: null, claimedUntil: null, updatedAt: this.clock.now() },
      );
      return this.get(id, manager);
    });
  }

  /** Called when the last operation of a request is done: it is done, and its goods are free again. */
  async complete(manager: EntityManager, id: string): Promise<void> {
    const { affected } = await rawSql(
      manager,
      `UPDATE reservation_request SET status = 'done', updated_at = ? WHERE id = ? AND status = 'planned'`,
      [this.clock.now(), id],
    );
    if (affected !== 1) return;
    await this.release(manager, id);
    await this.events.emitOwn(manager, [{ name: 'reservation.done', data: { requestId: id } }]);
  }

  /** Claims the oldest reserved request no planner holds, for `claimMs`; null when there is none. */
  async claimNext(token: string, claimMs: number): Promise<ReservationRequest | null> {
    // Idle planners poll: a plain read first, so they open no write transaction while there is nothing to plan.
    const { rows: waiting } = await rawSql(
      this.dataSource.manager,
      `SELECT 1 AS found FROM reservation_request
       WHERE status = 'reserved' AND (claimed_until IS NULL OR claimed_until < ?) LIMIT 1`,
      [this.clock.now()],
    );
    if (waiting.length === 0) return null;
    return this.db.transaction(async (manager) => {
      const now = this.clock.now();
      const postgres = manager.connection.options.type === 'postgres';
      const { rows } = await rawSql<{ id: string }>(
        manager,
        `SELECT id FROM reservation_request
         WHERE status = 'reserved' AND (claimed_until IS NULL OR claimed_until < ?)
         ORDER BY id LIMIT 1${postgres ? ' FOR UPDATE SKIP LOCKED' : ''}`,
        [now],
      );
      if (rows.length === 0) return null;
      const id = sqlText(rows[0].id);
      // The condition repeats the search, so the claim holds even where the row was not locked.
      const { affected } = await rawSql(
        manager,
        `UPDATE reservation_request SET claimed_by = ?, claimed_until = ?
         WHERE id = ? AND status = 'reserved' AND (claimed_until IS NULL OR claimed_until < ?)`,
        [token, new Date(now.getTime() + claimMs), id, now],
      );
      if (affected !== 1) return null;
      return manager.findOneByOrFail(ReservationRequest, { id });
    });
  }

  /** Whether `token` still holds the claim on a request (it may have expired and passed to another). */
  async holdsClaim(manager: EntityManager, requestId: string, token: string): Promise<boolean> {
    const { rows } = await rawSql(
      manager,
      `SELECT 1 AS held FROM reservation_request
       WHERE id = ? AND status = 'reserved' AND claimed_by = ? AND claimed_until >= ?`,
      [requestId, token, this.clock.now()],
    );
    return rows.length === 1;
  }

  async markPlanned(manager: EntityManager, requestId: string, operationIds: string[]): Promise<void> {
    await manager.update(
      ReservationRequest,
      { id: requestId },
      { status: 'planned', planned: true, claimedBy: null, claimedUntil: null, updatedAt: this.clock.now() },
    );
    await this.events.emitOwn(manager, [{ name: 'reservation.planned', data: { requestId, operationIds } }]);
  }

  /** Every operation of a planned request was cancelled: it waits to be planned again. */
  async unplan(manager: EntityManager, requestId: string): Promise<void> {
    await rawSql(
      manager,
      `UPDATE reservation_request SET status = 'reserved', planned = ?, updated_at = ? WHERE id = ? AND status = 'planned'`,
      [false, this.clock.now(), requestId],
    );
    this.db.afterCommit(manager, () => this.reserver.announceReserved());
  }

  /** Gives a claim up after a failed planning; no planner takes the request for `ms`. */
  async deferClaim(requestId: string, token: string, ms: number): Promise<void> {
    await this.db.transaction((manager) =>
      rawSql(
        manager,
        `UPDATE reservation_request SET claimed_by = NULL, claimed_until = ? WHERE id = ? AND claimed_by = ?`,
        [new Date(this.clock.now().getTime() + ms), requestId, token],
      ),
    );
  }

  /** The request holding each of these goods, for those reserved. */
  async holdersOf(manager: EntityManager, goodsIds: string[]): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    if (goodsIds.length === 0) return holders;
    const found = await manager
      .createQueryBuilder(Reservation, 'r')
      .select(['r.goodsId', 'r.requestId'])
      .where('r.goodsId IN (:...ids)', { ids: goodsIds })
      .getMany();
    for (const r of found) holders.set(r.goodsId, r.requestId);
    return holders;
  }

  private async release(manager: EntityManager, requestId: string): Promise<void> {
    await bumpSupplyVersion(manager);
    await rawSql(
      manager,
      `UPDATE goods SET reserved = ? WHERE id IN (SELECT goods_id FROM reservation WHERE request_id = ?)`,
      [false, requestId],
    );
    await rawSql(manager, `DELETE FROM reservation WHERE request_id = ?`, [requestId]);
    await rawSql(manager, `UPDATE request_item SET reserved_quantity = 0 WHERE request_id = ?`, [requestId]);
    this.db.afterCommit(manager, () => this.reserver.wake());
  }
}
