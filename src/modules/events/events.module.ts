import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventIntakeService } from './event-intake.service.js';
import { EventSubscribers } from './event-subscribers.service.js';
import { EventReplayHandler } from './event-replay.handler.js';
import { EventReplayService } from './event-replay.service.js';
import { EventRetentionService } from './event-retention.service.js';
import { EventTypesController } from './event-types.controller.js';
import { EventTypesService } from './event-types.service.js';
import { EventType } from './event-type.entity.js';
import { EventTypeStore } from './event-type.store.js';
import { Event } from './event.entity.js';
import { EventStore } from './event.store.js';
import { EventsController } from './events.controller.js';
import { EventsService } from './events.service.js';
import { JobOutcomeEvents } from './job-outcome-events.service.js';
import { RetentionHandler } from './retention.handler.js';
import { Route } from './route.entity.js';
import { RouteStore } from './route.store.js';
import { RoutesController } from './routes.controller.js';
import { RoutesService } from './routes.service.js';

/** Event intake, routes from events to jobs, replay, retention, and job outcomes as events. */
@Module({
  imports: [TypeOrmModule.forFeature([Event, EventType, Route])],
  controllers: [EventsController, EventTypesController, RoutesController],
  providers: [
    EventStore,
    EventTypeStore,
    RouteStore,
    EventIntakeService,
    EventSubscribers,
    EventReplayService,
    EventRetentionService,
    EventsService,
    EventTypesService,
    RoutesService,
    JobOutcomeEvents,
    EventReplayHandler,
    RetentionHandler,
  ],
  exports: [EventIntakeService, EventsService, EventSubscribers, RoutesService],
})
export class EventsModule {}
