import { Injectable, Module } from '@nestjs/common';
import { PurposePlanner } from '../../src/modules/planner/purpose-planner.decorator.js';
import type { PlanningContext } from '../../src/modules/planner/planning-context.js';

/** Every planning of purpose `test.record` in this process, by request id, in order. */
export const plannedByTestPlanner: string[] = [];

/** A purpose planner that notes each request it plans and takes a little time, as real planning does. */
@Injectable()
export class TestPlanners {
  @PurposePlanner('test.record')
  async record(context: PlanningContext): Promise<void> {
    plannedByTestPlanner.push(context.request.id);
    await new Promise((resolve) => setTimeout(resolve, 2 + Math.floor(Math.random() * 8)));
    for (const { goodsId } of context.goods) await context.move(goodsId, 'test-dock');
  }
}

@Module({ providers: [TestPlanners] })
export class TestPlannersModule {}
