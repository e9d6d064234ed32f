import { SetMetadata } from '@nestjs/common';
import type { PurposeCheck } from '../reservations/reservations.contract.js';

export const PURPOSE_PLANNER_METADATA = 'junction:purpose-planner';

export interface PurposePlannerOptions {
  /**
   * Checks a purpose when its request is created; the problems it returns refuse the request
   * (422), so a request that could never be planned is not reserved for nothing.
   */
  check?: PurposeCheck;
}

export interface PurposePlannerMetadata extends PurposePlannerOptions {
  type: string;
}

/**
 * Marks a provider method as the planner of one purpose type. It receives a `PlanningContext` for
 * a claimed, fully reserved request and creates operations through it; when it returns, the
 * request is planned. A purpose type planned twice stops the boot.
 */
export const PurposePlanner = (type: string, options: PurposePlannerOptions = {}): MethodDecorator =>
  SetMetadata<string, PurposePlannerMetadata>(PURPOSE_PLANNER_METADATA, { type, ...options });
