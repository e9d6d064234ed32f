import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventReplayHandler } from './event-replay.handler.js';
import { EventTypesController } from './event-types.controller.js';
import { EventTypesService } from './event-types.service.js';
import { EventType } from './event-type.entity.js';
import { Event } from './event.entity.js';
import { EventsController } from './events.controller.js';
import { EventsService } from './events.service.js';
import { JobOutcomeEvents } from './job-outcome-events.service.js';
import { RetentionHandler } from './retention.handler.js';
import { Route } from './route.entity.js';
import { RoutesController } from './routes.controller.js';
import { RoutesService } from './routes.service.js';
import { SchedulesModule } from './schedules.module.js';

/** Event intake, routes from events to jobs, replay, job outcomes as events, and schedules. */
@Module({
  imports: [TypeOrmModule.forFeature([Event, EventType, Route]), SchedulesModule],
  controllers: [EventsController, EventTypesController, RoutesController],
  providers: [
    EventsService,
    EventTypesService,
    RoutesService,
    JobOutcomeEvents,
    EventReplayHandler,
    RetentionHandler,
  ],
  exports: [EventsService],
})
export class EventsModule {}
