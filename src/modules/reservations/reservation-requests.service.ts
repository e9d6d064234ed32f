import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { CatalogueService } from './catalogue.service.js';
import { PurposeTypes } from './purpose-types.service.js';
import { RequestItem } from './request-item.entity.js';
import { DEFAULT_LANE, ReservationRequest } from './reservation-request.entity.js';
import type { Purpose, RequestStatus } from './reservation-request.entity.js';
import { ReservationRequestStore } from './reservation-request.store.js';
import { ReservationError } from './reservation.error.js';
import type { Reservation } from './reservation.entity.js';
import type { ClaimedRequest, RequestForPlanning } from './reservations.contract.js';
import { ReserverService } from './reserver.service.js';
import { SupplyService } from './supply.service.js';

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
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly catalogue: CatalogueService,
    private readonly purposes: PurposeTypes,
    private readonly supply: SupplyService,
    private readonly reserver: ReserverService,
    private readonly events: EventIntakeService,
    private readonly store: ReservationRequestStore,
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
      return await this.serializer.transaction(async (inTx) => {
        if (input.idempotencyKey !== undefined) {
          const existing = await this.store.byIdempotencyKey(input.idempotencyKey, inTx);
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
          const type = await this.catalogue.goodsTypeByCode(item.goodsType, inTx);
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
        await this.store.insert(inTx, request, items);
        this.serializer.afterCommit(inTx, () => this.reserver.wake(request.lane));
        return { request, duplicate: false };
      });
    } catch (error) {
      if (input.idempotencyKey === undefined || !isUniqueViolation(error)) throw error;
      // Another transaction used the key at the same time: its request is the first.
      const existing = await this.store.byIdempotencyKey(input.idempotencyKey);
      if (!existing) throw error;
      return { request: existing, duplicate: true };
    }
  }

  list(
    filter: { status?: RequestStatus; lane?: string },
    page: PageQueryDto,
  ): Promise<Page<ReservationRequest>> {
    return this.store.page(filter, page);
  }

  async get(id: string, manager?: EntityManager): Promise<RequestDetail> {
    const detail = await this.store.detail(id, manager);
    if (!detail) throw new ReservationError('REQUEST_NOT_FOUND', `no reservation request ${id}`);
    return detail;
  }

  /** A claimed request with the goods reserved for it, read in the planning transaction. */
  async forPlanning(manager: EntityManager, id: string): Promise<RequestForPlanning> {
    const { request, reservations } = await this.get(id, manager);
    return {
      id: request.id,
      purpose: request.purpose,
      purposeType: request.purposeType,
      lane: request.lane,
      goods: reservations.map((r) => ({ goodsId: r.goodsId, requestItemId: r.requestItemId })),
    };
  }

  /**
   * Cancels a request that is not finished: its planned operations are cancelled and its goods
   * released for the requests after it.
   */
  async cancel(id: string): Promise<RequestDetail> {
    return this.serializer.transaction(async (manager) => {
      const { request } = await this.get(id, manager);
      if (request.status === 'done' || request.status === 'cancelled') {
        throw new ReservationError('REQUEST_FINISHED', `request ${id} is ${request.status}`);
      }
      for (const listener of this.cancelListeners) await listener(manager, id);
      await this.release(manager, id);
      await this.store.markCancelled(manager, id, this.clock.now());
      return this.get(id, manager);
    });
  }

  /** Called when the last operation of a request is done: it is done, and its goods are free again. */
  async complete(manager: EntityManager, id: string): Promise<void> {
    if (!(await this.store.markDoneIfPlanned(manager, id, this.clock.now()))) return;
    await this.release(manager, id);
    await this.events.emitOwn(manager, [{ name: 'reservation.done', data: { requestId: id } }]);
  }

  /** Claims the oldest reserved request no planner holds, for `claimMs`; null when there is none. */
  async claimNext(token: string, claimMs: number): Promise<ClaimedRequest | null> {
    if (!(await this.store.anyClaimable(this.clock.now()))) return null;
    return this.serializer.transaction((manager) => {
      const now = this.clock.now();
      return this.store.claimOldest(manager, token, new Date(now.getTime() + claimMs), now);
    });
  }

  /** Whether `token` still holds the claim on a request (it may have expired and passed to another). */
  holdsClaim(manager: EntityManager, requestId: string, token: string): Promise<boolean> {
    return this.store.holdsClaim(manager, requestId, token, this.clock.now());
  }

  async markPlanned(manager: EntityManager, requestId: string, operationIds: string[]): Promise<void> {
    await this.store.markPlanned(manager, requestId, this.clock.now());
    await this.events.emitOwn(manager, [{ name: 'reservation.planned', data: { requestId, operationIds } }]);
  }

  /** Every operation of a planned request was cancelled: it waits to be planned again. */
  async unplan(manager: EntityManager, requestId: string): Promise<void> {
    await this.store.markUnplanned(manager, requestId, this.clock.now());
    this.serializer.afterCommit(manager, () => this.reserver.announceReserved());
  }

  /** Gives a claim up after a failed planning; no planner takes the request for `ms`. */
  async deferClaim(requestId: string, token: string, ms: number): Promise<void> {
    await this.serializer.transaction((manager) =>
      this.store.releaseClaim(manager, requestId, token, new Date(this.clock.now().getTime() + ms)),
    );
  }

  /** The request holding each of these goods, for those reserved. */
  holdersOf(manager: EntityManager, goodsIds: string[]): Promise<Map<string, string>> {
    return this.store.holdersOf(manager, goodsIds);
  }

  private async release(manager: EntityManager, requestId: string): Promise<void> {
    await this.supply.announceChange(manager);
    await this.store.deleteReservations(manager, requestId);
  }
}
