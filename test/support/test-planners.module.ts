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

/** Requests `test.fail-once` has failed to plan; it plans each on its second try. */
export const failedOnce = new Set<string>();

@Injectable()
export class FailingTestPlanner {
  @PurposePlanner('test.fail-once')
  async failOnce(context: PlanningContext): Promise<void> {
    if (!failedOnce.has(context.request.id)) {
      failedOnce.add(context.request.id);
      // Planned first, then failed: the planning transaction must leave nothing behind.
      for (const { goodsId } of context.goods) await context.move(goodsId, 'test-dock');
      throw new Error('the partner planning service is down');
    }
    for (const { goodsId } of context.goods) await context.move(goodsId, 'test-dock');
  }
}

@Module({ providers: [TestPlanners, FailingTestPlanner] })
export class TestPlannersModule {}
