import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { insertEntities, rawSql, sqlText } from '../../database/raw-sql.js';
import { RequestItem } from './request-item.entity.js';
import { ReservationRequest } from './reservation-request.entity.js';
import type { RequestStatus } from './reservation-request.entity.js';
import { Reservation } from './reservation.entity.js';

/** The reservation_request, request_item and reservation tables, apart from the reserver's batches. */
@Injectable()
export class ReservationRequestStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  byIdempotencyKey(
    key: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ReservationRequest | null> {
    return manager.findOneBy(ReservationRequest, { idempotencyKey: key });
  }

  async insert(manager: EntityManager, request: ReservationRequest, items: RequestItem[]): Promise<void> {
    await insertEntities(manager, ReservationRequest, [request]);
    await insertEntities(manager, RequestItem, items);
  }

  page(
    filter: { status?: RequestStatus; lane?: string },
    page: PageQueryDto,
  ): Promise<Page<ReservationRequest>> {
    const query = this.dataSource.manager.createQueryBuilder(ReservationRequest, 'request');
    if (filter.status !== undefined) query.andWhere('request.status = :status', { status: filter.status });
    if (filter.lane !== undefined) query.andWhere('request.lane = :lane', { lane: filter.lane });
    return paginate(query, page);
  }

  /** A request with its items in order and its reservations by goods id; null when there is none. */
  async detail(
    id: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ request: ReservationRequest; items: RequestItem[]; reservations: Reservation[] } | null> {
    const request = await manager.findOneBy(ReservationRequest, { id });
    if (!request) return null;
    const items = await manager.find(RequestItem, { where: { requestId: id }, order: { position: 'ASC' } });
    const reservations = await manager.find(Reservation, {
      where: { requestId: id },
      order: { goodsId: 'ASC' },
    });
    return { request, items, reservations };
  }

  async markCancelled(manager: EntityManager, id: string, now: Date): Promise<void> {
    await manager.update(
      ReservationRequest,
      { id },
      { status: 'cancelled', claimedBy: null, claimedUntil: null, updatedAt: now },
    );
  }

  /** Planned to done; false when it was not planned (already done, say). */
  async markDoneIfPlanned(manager: EntityManager, id: string, now: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE reservation_request SET status = 'done', updated_at = ? WHERE id = ? AND status = 'planned'`,
      [now, id],
    );
    return affected === 1;
  }

  /** A plain read, so idle planners open no write transaction while there is nothing to plan. */
  async anyClaimable(now: Date): Promise<boolean> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT 1 AS found FROM reservation_request
       WHERE status = 'reserved' AND (claimed_until IS NULL OR claimed_until < ?) LIMIT 1`,
      [now],
    );
    return rows.length > 0;
  }

  /**
   * Claims the oldest reserved request no planner holds: on PostgreSQL the row is locked with
   * SKIP LOCKED, so concurrent planners take different ones; on SQLite transactions run one at a time.
   */
  async claimOldest(
    manager: EntityManager,
    token: string,
    until: Date,
    now: Date,
  ): Promise<ReservationRequest | null> {
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
      [token, until, id, now],
    );
    if (affected !== 1) return null;
    return manager.findOneByOrFail(ReservationRequest, { id });
  }

  async holdsClaim(manager: EntityManager, requestId: string, token: string, now: Date): Promise<boolean> {
    const { rows } = await rawSql(
      manager,
      `SELECT 1 AS held FROM reservation_request
       WHERE id = ? AND status = 'reserved' AND claimed_by = ? AND claimed_until >= ?`,
      [requestId, token, now],
    );
    return rows.length === 1;
  }

  async markPlanned(manager: EntityManager, requestId: string, now: Date): Promise<void> {
    await manager.update(
      ReservationRequest,
      { id: requestId },
      { status: 'planned', planned: true, claimedBy: null, claimedUntil: null, updatedAt: now },
    );
  }

  async markUnplanned(manager: EntityManager, requestId: string, now: Date): Promise<void> {
    await rawSql(
      manager,
      `UPDATE reservation_request SET status = 'reserved', planned = ?, updated_at = ? WHERE id = ? AND status = 'planned'`,
      [false, now, requestId],
    );
  }

  async releaseClaim(manager: EntityManager, requestId: string, token: string, until: Date): Promise<void> {
    await rawSql(
      manager,
      `UPDATE reservation_request SET claimed_by = NULL, claimed_until = ? WHERE id = ? AND claimed_by = ?`,
      [until, requestId, token],
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

  /** Frees a request's goods: no reservation holds them, and its items hold nothing. */
  async deleteReservations(manager: EntityManager, requestId: string): Promise<void> {
    await rawSql(
      manager,
      `UPDATE goods SET reserved = ? WHERE id IN (SELECT goods_id FROM reservation WHERE request_id = ?)`,
      [false, requestId],
    );
    await rawSql(manager, `DELETE FROM reservation WHERE request_id = ?`, [requestId]);
    await rawSql(manager, `UPDATE request_item SET reserved_quantity = 0 WHERE request_id = ?`, [requestId]);
  }
}
