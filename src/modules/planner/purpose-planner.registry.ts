import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { withPluginOrigin } from '../../common/plugin-origin.js';
import { PurposeTypes } from '../reservations/purpose-types.service.js';
import { PURPOSE_PLANNER_METADATA } from './purpose-planner.decorator.js';
import type { PurposePlannerMetadata } from './purpose-planner.decorator.js';
import type { PlanningContext } from './planning-context.js';

export type PlanFunction = (context: PlanningContext) => Promise<void>;

/** Every `@PurposePlanner` method, found once at boot; a purpose type planned twice stops the boot. */
@Injectable()
export class PurposePlannerRegistry implements OnModuleInit {
  private readonly planners = new Map<string, { plan: PlanFunction; source: string }>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly purposes: PurposeTypes,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.metatype) continue;
      const className = (instance.constructor as { name: string }).name;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const meta = this.reflector.get<PurposePlannerMetadata | undefined>(
          PURPOSE_PLANNER_METADATA,
          fn as () => unknown,
        );
        if (!meta) continue;
        const source = withPluginOrigin(`${className}.${method}`, wrapper.host?.metatype);
        const existing = this.planners.get(meta.type);
        if (existing) {
          throw new Error(`purpose type "${meta.type}" has two planners: ${existing.source} and ${source}`);
        }
        this.planners.set(meta.type, {
          plan: (context) => (fn as PlanFunction).call(instance, context),
          source,
        });
        this.purposes.register(meta.type, meta.check);
      }
    }
  }

  plannerOf(type: string): PlanFunction | undefined {
    return this.planners.get(type)?.plan;
  }
}
