import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql, sqlText } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import type { Avatar } from '../reservations/avatar.entity.js';
import type { GoodsInput } from '../reservations/goods.service.js';
import { GoodsService } from '../reservations/goods.service.js';
import { ReservationRequestsService } from '../reservations/reservation-requests.service.js';
import { ReserverService } from '../reservations/reserver.service.js';
import { bumpSupplyVersion } from '../reservations/supply-version.js';
import { Operation } from './operation.entity.js';
import type { OperationState, OperationType } from './operation.entity.js';
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
  /** The request it is planned for; with `claim`, which must be that request's. */
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
    private readonly goods: GoodsService,
    private readonly requests: ReservationRequestsService,
    private readonly reserver: ReserverService,
    private readonly events: EventIntakeService,
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
    return this.db.transaction(async (manager) => {
      await bumpSupplyVersion(manager);
      const location = await this.goods.locationByCode(manager, input.location);
      const planned: OperationView[] = [];
      for (const line of input.goods) {
        const type = await this.goods.goodsTypeByCode(manager, line.goodsType);
        const goods = await this.goods.insertGoods(manager, type.id, line, line.count ?? 1);
        const operations = goods.map((g) =>
          this.newOperation('arrival', g.id, input.at, { locationId: location.id }),
        );
        await manager.insert(Operation, operations);
        const outcomes = await this.goods.insertAvatars(
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
      this.db.afterCommit(manager, () => this.reserver.wake());
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
    const location = await this.goods.locationByCode(manager, locationCode);
    const { operation, tip } = await this.planOnTip(manager, 'move', goodsId, options, location.id);
    const [outcome] = await this.goods.insertAvatars(manager, [
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
    await bumpSupplyVersion(manager);
    const { operation, tip } = await this.planOnTip(manager, 'unpack', goodsId, options, null);
    const outcomes: Avatar[] = [];
    for (const line of contents) {
      const type = await this.goods.goodsTypeByCode(manager, line.goodsType);
      const goods = await this.goods.insertGoods(manager, type.id, line, line.count ?? 1);
      outcomes.push(
        ...(await this.goods.insertAvatars(
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
    this.db.afterCommit(manager, () => this.reserver.wake());
    return { operation, inputs: [tip.id], outcomes: outcomes.map((a) => a.id) };
  }

  async ensureLocation(manager: EntityManager, code: string): Promise<void> {
    await this.goods.ensureLocation(manager, code);
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
    return this.db.transaction(async (manager) => {
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
    return this.db.transaction(async (manager) => {
      const operation = await this.find(manager, id);
      if (operation.state === 'done') return this.view(manager, operation);
      if (operation.state === 'cancelled')
        throw new PlannerError('OPERATION_CANCELLED', `operation ${id} is cancelled`);
      if (!(await this.ready(manager, operation))) {
        throw new PlannerError(
          'OPERATION_NOT_READY',
          `operation ${id} cannot run yet: its input is not present (an earlier operation is not done)`,
        );
      }
      const now = this.clock.now();
      const { affected } = await rawSql(
        manager,
        `UPDATE operation SET state = 'done', executed_at = ?, updated_at = ? WHERE id = ? AND state IN ('planned', 'started')`,
        [now, now, id],
      );
      // Another process executed it first.
      if (affected !== 1) return this.view(manager, await this.find(manager, id));
      await this.goods.realize(manager, operation.inputAvatarId, operation.id, now);
      const done = await this.find(manager, id);
      await this.events.emitOwn(manager, [
        {
          name: 'operation.done',
          data: { operationId: id, type: done.type, goodsId: done.goodsId, requestId: done.requestId },
        },
      ]);
      if (done.requestId !== null && (await this.openCount(manager, done.requestId)) === 0) {
        await this.requests.complete(manager, done.requestId);
      }
      return this.view(manager, done);
    });
  }

  /**
   * Cancels a planned operation and, first, every planned operation that follows from it. The
   * input avatar loses its end again and the outcomes are dropped. A request left without open
   * operations is done if some were done, and otherwise reserved again, to be planned anew.
   */
  async cancel(id: string): Promise<OperationView> {
    return this.db.transaction(async (manager) => {
      const operation = await this.find(manager, id);
      if (operation.state === 'cancelled') return this.view(manager, operation);
      // Goods a cancelled move or departure no longer takes away can be promised again.
      await bumpSupplyVersion(manager);
      this.db.afterCommit(manager, () => this.reserver.wake());
      const affected = new Set<string>();
      await this.cancelTree(manager, operation, false, affected);
      for (const requestId of affected) {
        if ((await this.openCount(manager, requestId)) > 0) continue;
        if ((await this.doneCount(manager, requestId)) > 0) await this.requests.complete(manager, requestId);
        else await this.requests.unplan(manager, requestId);
      }
      return this.view(manager, await this.find(manager, id));
    });
  }

  /** A request is being cancelled: its planned operations go with it. */
  async cancelOfRequest(manager: EntityManager, requestId: string): Promise<void> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `SELECT id FROM operation WHERE request_id = ? AND state = 'planned' ORDER BY id DESC`,
      [requestId],
    );
    for (const { id } of rows) {
      const operation = await this.find(manager, sqlText(id));
      if (operation.state === 'planned') await this.cancelTree(manager, operation, true, new Set());
    }
  }

  /** Planned operations due by `now` whose input is present, oldest first. */
  async due(now: Date, limit: number): Promise<string[]> {
    const { rows } = await rawSql<{ id: string }>(
      this.dataSource.manager,
      `SELECT o.id FROM operation o
       WHERE o.state = 'planned' AND o.dt_execution <= ?
         AND (o.input_avatar_id IS NULL
              OR EXISTS (SELECT 1 FROM avatar a WHERE a.id = o.input_avatar_id AND a.state = 'present'))
       ORDER BY o.dt_execution, o.id LIMIT ?`,
      [now, limit],
    );
    return rows.map((r) => sqlText(r.id));
  }

  async get(id: string): Promise<OperationView> {
    return this.view(this.dataSource.manager, await this.find(this.dataSource.manager, id));
  }

  async list(
    filter: { state?: OperationState; type?: OperationType; request?: string; goods?: string },
    page: PageQueryDto,
  ): Promise<Page<OperationView>> {
    const query = this.dataSource.manager.createQueryBuilder(Operation, 'operation');
    if (filter.state !== undefined) query.andWhere('operation.state = :state', { state: filter.state });
    if (filter.type !== undefined) query.andWhere('operation.type = :type', { type: filter.type });
    if (filter.request !== undefined)
      query.andWhere('operation.requestId = :request', { request: filter.request });
    if (filter.goods !== undefined) query.andWhere('operation.goodsId = :goods', { goods: filter.goods });
    const found = await paginate(query, page);
    const outcomes = await this.goods.outcomesOf(
      this.dataSource.manager,
      found.items.map((o) => o.id),
    );
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
    const followers = await manager.find(Operation, { where: { followsId: operation.id, state: 'planned' } });
    for (const follower of followers) await this.cancelTree(manager, follower, forRequest, affectedRequests);
    await this.goods.dropOutcomes(manager, operation.id);
    if (operation.inputAvatarId !== null) await this.goods.reopenAvatar(manager, operation.inputAvatarId);
    await manager.update(
      Operation,
      { id: operation.id },
      { state: 'cancelled', updatedAt: this.clock.now() },
    );
    if (operation.requestId !== null) affectedRequests.add(operation.requestId);
  }

  /**
   * Goods promised to a request must not vanish under it: an arrival or unpack that would make
   * reserved goods never exist is refused, and so is cancelling another request's operation
   * (cancel the request instead).
   */
  private async refuseIfPromised(manager: EntityManager, operation: Operation): Promise<void> {
    const outcomes = await this.goods.outcomesOf(manager, [operation.id]);
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
  ): Promise<{ operation: Operation; tip: Avatar }> {
    const { tip, at } = await this.prepare(manager, goodsId, options);
    const operation = this.newOperation(type, goodsId, at, {
      locationId,
      inputAvatarId: tip.id,
      requestId: options.claim?.requestId ?? null,
      followsId: this.producerOf(tip),
    });
    await manager.insert(Operation, operation);
    await this.goods.endAvatar(manager, tip, at);
    return { operation, tip };
  }

  private async prepare(
    manager: EntityManager,
    goodsId: string,
    options: PlanOptions,
  ): Promise<{ tip: Avatar; at: Date }> {
    await this.refuseUnlessClaimed(manager, goodsId, options.claim);
    const tip = await this.goods.tipOf(manager, goodsId);
    if (!tip) {
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

  /** The planned operation whose outcome an avatar is: the next one follows it. */
  private producerOf(avatar: Avatar): string | null {
    return avatar.state === 'future' ? avatar.outcomeOf : null;
  }

  private async ready(manager: EntityManager, operation: Operation): Promise<boolean> {
    if (operation.inputAvatarId === null) return true;
    const input = await this.goods.avatar(manager, operation.inputAvatarId);
    return input?.state === 'present';
  }

  private async openCount(manager: EntityManager, requestId: string): Promise<number> {
    return manager.countBy(Operation, { requestId, state: In(['planned', 'started']) });
  }

  private async doneCount(manager: EntityManager, requestId: string): Promise<number> {
    return manager.countBy(Operation, { requestId, state: 'done' });
  }

  private async find(manager: EntityManager, id: string): Promise<Operation> {
    const operation = await manager.findOneBy(Operation, { id });
    if (!operation) throw new PlannerError('OPERATION_NOT_FOUND', `no operation ${id}`);
    return operation;
  }

  private async view(manager: EntityManager, operation: Operation): Promise<OperationView> {
    const outcomes = await this.goods.outcomesOf(manager, [operation.id]);
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
