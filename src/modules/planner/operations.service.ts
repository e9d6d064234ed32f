import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { AvatarTimelineService } from '../reservations/avatar-timeline.service.js';
import { CatalogueService } from '../reservations/catalogue.service.js';
import { GoodsService } from '../reservations/goods.service.js';
import { ReservationRequestsService } from '../reservations/reservation-requests.service.js';
import type { AvatarView, GoodsInput } from '../reservations/reservations.contract.js';
import { SupplyService } from '../reservations/supply.service.js';
import { Operation } from './operation.entity.js';
import type { OperationState, OperationType } from './operation.entity.js';
import { OperationStore } from './operation.store.js';
import type { DueCursor } from './operation.store.js';
import { PlannerError } from './planner.error.js';

/** Objects one arrivals call may bring: each is a row, an avatar and an operation in one transaction. */
const MAX_ARRIVING = 10_000;

/** A planner's hold on a request: operations on its reserved goods need it. */
export interface Claim {
  requestId: string;
  token: string;
}

export interface PlanOptions {
  /** When it is to happen; now by default, and never before its input exists. */
  at?: Date;
  /** The planner's claim when it is planned for a request: goods that request holds need it, still held. */
  claim?: Claim;
}

export interface OperationView {
  operation: Operation;
  inputs: string[];
  outcomes: string[];
}

/**
 * Operations on goods: planning one changes the future (the input avatar gets an end, outcomes
 * are future avatars), executing it makes that future the present, cancelling it undoes the plan
 * and that of the operations that follow from it. Reserved goods can only be planned for by the
 * planner holding the claim on the request that reserved them.
 */
@Injectable()
export class OperationsService {
  constructor(
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly catalogue: CatalogueService,
    private readonly goods: GoodsService,
    private readonly timeline: AvatarTimelineService,
    private readonly supply: SupplyService,
    private readonly requests: ReservationRequestsService,
    private readonly events: EventIntakeService,
    private readonly store: OperationStore,
  ) {}

  /** Goods due at a location at a time: each gets a future avatar there, outcome of a planned arrival. */
  async planArrivals(input: {
    location: string;
    at: Date;
    goods: (GoodsInput & { count?: number })[];
  }): Promise<OperationView[]> {
    const total = input.goods.reduce((sum, line) => sum + (line.count ?? 1), 0);
    if (total > MAX_ARRIVING)
      throw invalid(`at most ${MAX_ARRIVING} objects arrive in one call, not ${total}`);
    return this.serializer.transaction(async (manager) => {
      await this.supply.announceChange(manager);
      const location = await this.catalogue.locationByCode(input.location, manager);
      const planned: OperationView[] = [];
      for (const line of input.goods) {
        const goods = await this.goods.addGoods(manager, line, line.count ?? 1);
        const operations = goods.map((g) =>
          this.newOperation('arrival', g.id, input.at, { locationId: location.id }),
        );
        await this.store.insert(manager, operations);
        const outcomes = await this.timeline.addAvatars(
          manager,
          operations.map((op) => ({
            goodsId: op.goodsId,
            locationId: location.id,
            state: 'future',
            dtFrom: input.at,
            outcomeOf: op.id,
          })),
        );
        planned.push(
          ...operations.map((operation, i) => ({ operation, inputs: [], outcomes: [outcomes[i].id] })),
        );
      }
      return planned;
    });
  }

  /** Plans a move of goods to a location, after whatever is already planned for them. */
  async planMove(
    manager: EntityManager,
    goodsId: string,
    locationCode: string,
    options: PlanOptions = {},
  ): Promise<OperationView> {
    const location = await this.catalogue.locationByCode(locationCode, manager);
    const { operation, tip } = await this.planOnTip(manager, 'move', goodsId, options, location.id);
    const [outcome] = await this.timeline.addAvatars(manager, [
      {
        goodsId,
        locationId: location.id,
        state: 'future',
        dtFrom: operation.dtExecution,
        outcomeOf: operation.id,
      },
    ]);
    return { operation, inputs: [tip.id], outcomes: [outcome.id] };
  }

  /** Plans goods leaving: after it they are nowhere. */
  async planDeparture(
    manager: EntityManager,
    goodsId: string,
    options: PlanOptions = {},
  ): Promise<OperationView> {
    const { operation, tip } = await this.planOnTip(manager, 'departure', goodsId, options, null);
    return { operation, inputs: [tip.id], outcomes: [] };
  }

  /** Plans a container opened where it is: its contents become goods of their own there. */
  async planUnpack(
    manager: EntityManager,
    goodsId: string,
    contents: (GoodsInput & { count?: number })[],
    options: PlanOptions = {},
  ): Promise<OperationView> {
    // The contents can be promised as soon as they are planned.
    await this.supply.announceChange(manager);
    const { operation, tip } = await this.planOnTip(manager, 'unpack', goodsId, options, null);
    const outcomes: AvatarView[] = [];
    for (const line of contents) {
      const goods = await this.goods.addGoods(manager, line, line.count ?? 1);
      outcomes.push(
        ...(await this.timeline.addAvatars(
          manager,
          goods.map((g) => ({
            goodsId: g.id,
            locationId: tip.locationId,
            state: 'future',
            dtFrom: operation.dtExecution,
            outcomeOf: operation.id,
          })),
        )),
      );
    }
    return { operation, inputs: [tip.id], outcomes: outcomes.map((a) => a.id) };
  }

  async ensureLocation(manager: EntityManager, code: string): Promise<void> {
    await this.catalogue.ensureLocation(manager, code);
  }

  /** One operation planned outside any request (POST /operations). */
  async plan(input: {
    type: Exclude<OperationType, 'arrival'>;
    goods: string;
    location?: string;
    contents?: (GoodsInput & { count?: number })[];
    at?: Date;
  }): Promise<OperationView> {
    if (input.type !== 'move' && input.location !== undefined)
      throw invalid(`a ${input.type} takes no location`);
    if (input.type !== 'unpack' && input.contents !== undefined)
      throw invalid(`a ${input.type} takes no contents`);
    return this.serializer.transaction(async (manager) => {
      switch (input.type) {
        case 'move':
          if (input.location === undefined) throw invalid('a move needs a location');
          return this.planMove(manager, input.goods, input.location, { at: input.at });
        case 'departure':
          return this.planDeparture(manager, input.goods, { at: input.at });
        case 'unpack':
          if (!input.contents?.length) throw invalid('an unpack needs contents');
          return this.planUnpack(manager, input.goods, input.contents, { at: input.at });
      }
    });
  }

  /**
   * Executes an operation now, whatever its planned time, once its input is present. Executing a
   * done operation again changes nothing. The last operation of a request to be done makes the
   * request done, which releases its goods.
   */
  async execute(id: string): Promise<OperationView> {
    return this.serializer.transaction(async (manager) => {
      const operation = await this.find(id, manager);
      if (operation.state === 'done') return this.view(operation, manager);
      if (operation.state === 'cancelled')
        throw new PlannerError('OPERATION_CANCELLED', `operation ${id} is cancelled`);
      if (!(await this.ready(manager, operation))) {
        throw new PlannerError(
          'OPERATION_NOT_READY',
          `operation ${id} cannot run yet: its input is not present (an earlier operation is not done)`,
        );
      }
      const now = this.clock.now();
      // Another process executed it first.
      if (!(await this.store.markDone(manager, id, now)))
        return this.view(await this.find(id, manager), manager);
      await this.timeline.realize(manager, operation.inputAvatarId, operation.id, now);
      const done = await this.find(id, manager);
      await this.events.emitOwn(manager, [
        {
          name: 'operation.done',
          data: { operationId: id, type: done.type, goodsId: done.goodsId, requestId: done.requestId },
        },
      ]);
      if (done.requestId !== null && (await this.store.countOpen(manager, done.requestId)) === 0) {
        await this.requests.complete(manager, done.requestId);
      }
      return this.view(done, manager);
    });
  }

  /**
   * Cancels a planned operation and, first, every planned operation that follows from it. The
   * input avatar loses its end again and the outcomes are dropped. A request left without open
   * operations is done if some were done, and otherwise reserved again, to be planned anew.
   */
  async cancel(id: string): Promise<OperationView> {
    return this.serializer.transaction(async (manager) => {
      const operation = await this.find(id, manager);
      if (operation.state === 'cancelled') return this.view(operation, manager);
      // Goods a cancelled move or departure no longer takes away can be promised again.
      await this.supply.announceChange(manager);
      const affected = new Set<string>();
      await this.cancelTree(manager, operation, false, affected);
      for (const requestId of affected) {
        if ((await this.store.countOpen(manager, requestId)) > 0) continue;
        if ((await this.store.countDone(manager, requestId)) > 0)
          await this.requests.complete(manager, requestId);
        else await this.requests.unplan(manager, requestId);
      }
      return this.view(await this.find(id, manager), manager);
    });
  }

  /** A request is being cancelled: its planned operations go with it. */
  async cancelOfRequest(manager: EntityManager, requestId: string): Promise<void> {
    for (const id of await this.store.plannedIdsOfRequest(manager, requestId)) {
      const operation = await this.find(id, manager);
      if (operation.state === 'planned') await this.cancelTree(manager, operation, true, new Set());
    }
  }

  /**
   * Up to `limit` planned operations due by `now` whose input is present, oldest first. Due ones
   * still waiting for an earlier operation are passed over, a page at a time.
   */
  async due(now: Date, limit: number): Promise<string[]> {
    const ready: string[] = [];
    let cursor: DueCursor | null = null;
    while (ready.length < limit) {
      const page = await this.store.due(now, limit, cursor);
      const inputs = page.operations.flatMap((o) => (o.inputAvatarId === null ? [] : [o.inputAvatarId]));
      const present = await this.timeline.presentAmong(inputs);
      for (const operation of page.operations) {
        if (ready.length === limit) break;
        if (operation.inputAvatarId === null || present.has(operation.inputAvatarId))
          ready.push(operation.id);
      }
      if (page.operations.length < limit) break;
      cursor = page.cursor;
    }
    return ready;
  }

  async get(id: string): Promise<OperationView> {
    return this.view(await this.find(id));
  }

  async list(
    filter: { state?: OperationState; type?: OperationType; request?: string; goods?: string },
    page: PageQueryDto,
  ): Promise<Page<OperationView>> {
    const found = await this.store.page(filter, page);
    const outcomes = await this.timeline.outcomesOf(found.items.map((o) => o.id));
    return {
      items: found.items.map((operation) => ({
        operation,
        inputs: operation.inputAvatarId ? [operation.inputAvatarId] : [],
        outcomes: outcomes.filter((a) => a.outcomeOf === operation.id).map((a) => a.id),
      })),
      nextCursor: found.nextCursor,
    };
  }

  private async cancelTree(
    manager: EntityManager,
    operation: Operation,
    forRequest: boolean,
    affectedRequests: Set<string>,
  ): Promise<void> {
    if (operation.state !== 'planned') {
      throw new PlannerError(
        'OPERATION_NOT_PLANNED',
        `operation ${operation.id} is ${operation.state}; only planned operations can be cancelled`,
      );
    }
    if (!forRequest) await this.refuseIfPromised(manager, operation);
    const followers = await this.store.plannedFollowersOf(manager, operation.id);
    for (const follower of followers) await this.cancelTree(manager, follower, forRequest, affectedRequests);
    await this.timeline.dropOutcomes(manager, operation.id);
    if (operation.inputAvatarId !== null) await this.timeline.reopenAvatar(manager, operation.inputAvatarId);
    await this.store.markCancelled(manager, operation.id, this.clock.now());
    if (operation.requestId !== null) affectedRequests.add(operation.requestId);
  }

  /**
   * Goods promised to a request must not change under it from outside: cancelling an arrival or
   * unpack whose outcomes a request holds is refused (they would never exist), and so is
   * cancelling an operation planned outside any request on goods a request holds (cancel the
   * request instead). A request's own operations may be cancelled.
   */
  private async refuseIfPromised(manager: EntityManager, operation: Operation): Promise<void> {
    const outcomes = await this.timeline.outcomesOf([operation.id], manager);
    const goodsIds =
      operation.type === 'arrival' || operation.type === 'unpack' ? outcomes.map((a) => a.goodsId) : [];
    if (operation.requestId === null) goodsIds.push(operation.goodsId);
    const holders = await this.requests.holdersOf(manager, goodsIds);
    for (const [goodsId, requestId] of holders) {
      if (requestId !== operation.requestId) {
        throw new PlannerError('GOODS_RESERVED', `goods ${goodsId} are reserved by request ${requestId}`, {
          goodsId,
          requestId,
        });
      }
    }
  }

  /**
   * Plans an operation whose input is the goods' tip (its latest avatar), at `options.at` but
   * never before the tip exists, after the operation that produces the tip if that is planned.
   */
  private async planOnTip(
    manager: EntityManager,
    type: Exclude<OperationType, 'arrival'>,
    goodsId: string,
    options: PlanOptions,
    locationId: string | null,
  ): Promise<{ operation: Operation; tip: AvatarView }> {
    const { tip, at } = await this.prepare(manager, goodsId, options);
    const operation = this.newOperation(type, goodsId, at, {
      locationId,
      inputAvatarId: tip.id,
      requestId: options.claim?.requestId ?? null,
      followsId: this.producerOf(tip),
    });
    await this.store.insert(manager, [operation]);
    await this.timeline.endAvatar(manager, tip, at);
    return { operation, tip };
  }

  private async prepare(
    manager: EntityManager,
    goodsId: string,
    options: PlanOptions,
  ): Promise<{ tip: AvatarView; at: Date }> {
    await this.refuseUnlessClaimed(manager, goodsId, options.claim);
    const tip = await this.timeline.tipOf(goodsId, manager);
    if (!tip) {
      // Unknown goods are not found (404); known ones without a tip are gone.
      await this.goods.getGoods(goodsId);
      throw new PlannerError('GOODS_GONE', `goods ${goodsId} have left or are planned to leave`);
    }
    const wanted = options.at ?? this.clock.now();
    return { tip, at: wanted < tip.dtFrom ? tip.dtFrom : wanted };
  }

  private async refuseUnlessClaimed(
    manager: EntityManager,
    goodsId: string,
    claim: Claim | undefined,
  ): Promise<void> {
    const holder = (await this.requests.holdersOf(manager, [goodsId])).get(goodsId);
    if (holder === undefined) return;
    if (claim?.requestId !== holder) {
      throw new PlannerError(
        'GOODS_RESERVED',
        `goods ${goodsId} are reserved by request ${holder}; only the planner holding its claim can plan for them`,
        { goodsId, requestId: holder },
      );
    }
    if (!(await this.requests.holdsClaim(manager, claim.requestId, claim.token))) {
      throw new PlannerError(
        'CLAIM_LOST',
        `the claim on request ${claim.requestId} has expired or passed on`,
      );
    }
  }

  /** The operation a new one on this avatar follows: the planned one producing it, none once it is present. */
  private producerOf(avatar: AvatarView): string | null {
    return avatar.state === 'future' ? avatar.outcomeOf : null;
  }

  private async ready(manager: EntityManager, operation: Operation): Promise<boolean> {
    if (operation.inputAvatarId === null) return true;
    const input = await this.timeline.avatar(operation.inputAvatarId, manager);
    return input?.state === 'present';
  }

  private async find(id: string, manager?: EntityManager): Promise<Operation> {
    const operation = await this.store.byId(id, manager);
    if (!operation) throw new PlannerError('OPERATION_NOT_FOUND', `no operation ${id}`);
    return operation;
  }

  private async view(operation: Operation, manager?: EntityManager): Promise<OperationView> {
    const outcomes = await this.timeline.outcomesOf([operation.id], manager);
    return {
      operation,
      inputs: operation.inputAvatarId ? [operation.inputAvatarId] : [],
      outcomes: outcomes.map((a) => a.id),
    };
  }

  private newOperation(
    type: OperationType,
    goodsId: string,
    at: Date,
    fields: Partial<Pick<Operation, 'inputAvatarId' | 'locationId' | 'requestId' | 'followsId'>>,
  ): Operation {
    const now = this.clock.now();
    return Object.assign(new Operation(), {
      id: newId(),
      type,
      state: 'planned',
      dtExecution: at,
      goodsId,
      inputAvatarId: null,
      locationId: null,
      requestId: null,
      followsId: null,
      executedAt: null,
      createdAt: now,
      updatedAt: now,
      ...fields,
    } satisfies Operation);
  }
}

function invalid(message: string): PlannerError {
  return new PlannerError('INVALID_OPERATION', message);
}
