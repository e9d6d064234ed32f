import { Module } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module.js';
import { ReservationRequestsService } from '../reservations/reservation-requests.service.js';
import { ReservationsModule } from '../reservations/reservations.module.js';
import { ArrivalsController } from './arrivals.controller.js';
import { BuiltInPlanners } from './built-in.planners.js';
import { OperationExecutor } from './operation-executor.service.js';
import { Operation } from './operation.entity.js';
import { OperationsController } from './operations.controller.js';
import { OperationStore } from './operation.store.js';
import { OperationsService } from './operations.service.js';
import { PlannerService } from './planner.service.js';
import { PurposePlannerRegistry } from './purpose-planner.registry.js';

/** Planners turning reserved requests into operations, and the execution of operations. */
@Module({
  imports: [TypeOrmModule.forFeature([Operation]), DiscoveryModule, ReservationsModule, EventsModule],
  controllers: [OperationsController, ArrivalsController],
  providers: [
    OperationStore,
    OperationsService,
    PlannerService,
    OperationExecutor,
    PurposePlannerRegistry,
    BuiltInPlanners,
  ],
  exports: [OperationsService, PlannerService, OperationExecutor],
})
export class PlannerModule implements OnModuleInit {
  constructor(
    private readonly requests: ReservationRequestsService,
    private readonly operations: OperationsService,
  ) {}

  onModuleInit(): void {
    this.requests.onCancel((manager, requestId) => this.operations.cancelOfRequest(manager, requestId));
  }
}
