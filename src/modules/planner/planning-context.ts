import type { EntityManager } from 'typeorm';
import type { Purpose, RequestForPlanning, ReservedGoods } from '../reservations/reservations.contract.js';
import type { Claim, OperationView, OperationsService } from './operations.service.js';
import type { Operation } from './operation.entity.js';

export type { ReservedGoods } from '../reservations/reservations.contract.js';

/**
 * What a purpose planner works with: the claimed request, its reserved goods, and operations
 * planned under the claim in the planning transaction.
 */
export class PlanningContext {
  readonly operations: Operation[] = [];

  constructor(
    private readonly manager: EntityManager,
    readonly request: RequestForPlanning,
    private readonly claim: Claim,
    private readonly operationsService: OperationsService,
    /** The time planning started: operations default to it. */
    readonly now: Date,
  ) {}

  get purpose(): Purpose {
    return this.request.purpose;
  }

  get goods(): ReservedGoods[] {
    return this.request.goods;
  }

  /** The location with this code, created if missing (the sale planner's `outgoing`). */
  async ensureLocation(code: string): Promise<void> {
    await this.operationsService.ensureLocation(this.manager, code);
  }

  async move(goodsId: string, locationCode: string, at: Date = this.now): Promise<Operation> {
    return this.record(
      await this.operationsService.planMove(this.manager, goodsId, locationCode, { at, claim: this.claim }),
    );
  }

  async departure(goodsId: string, at: Date = this.now): Promise<Operation> {
    return this.record(
      await this.operationsService.planDeparture(this.manager, goodsId, { at, claim: this.claim }),
    );
  }

  private record(view: OperationView): Operation {
    this.operations.push(view.operation);
    return view.operation;
  }
}
