import { Injectable } from '@nestjs/common';
import type { Purpose } from '../reservations/reservations.contract.js';
import { PurposePlanner } from './purpose-planner.decorator.js';
import type { PlanningContext } from './planning-context.js';

/** Where the sale planner takes goods before they leave. Created on first use if missing. */
export const OUTGOING_LOCATION = 'outgoing';

/** The planners Junction ships: `sale` and `move`. */
@Injectable()
export class BuiltInPlanners {
  /** `{"type": "sale"}`: each object moves to `outgoing`, then departs. */
  @PurposePlanner('sale')
  async sale(context: PlanningContext): Promise<void> {
    await context.ensureLocation(OUTGOING_LOCATION);
    for (const { goodsId } of context.goods) {
      await context.move(goodsId, OUTGOING_LOCATION);
      await context.departure(goodsId);
    }
  }

  /** `{"type": "move", "location": "<code>"}`: each object moves there. */
  @PurposePlanner('move', { check: checkMove })
  async move(context: PlanningContext): Promise<void> {
    const location = context.purpose.location as string;
    for (const { goodsId } of context.goods) await context.move(goodsId, location);
  }
}

function checkMove(purpose: Purpose): string[] {
  return typeof purpose.location === 'string' && purpose.location.length > 0
    ? []
    : ['a move purpose needs "location": the code of the location to move the goods to'];
}
