import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module.js';
import { EventsModule } from '../events/events.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { ConnectionSchedules } from './connection-schedules.service.js';
import { Connection } from './connection.entity.js';
import { ConnectionStore } from './connection.store.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';
import { HttpActionHandler } from './http/http-action.handler.js';
import { HttpPollHandler } from './http/http-poll.handler.js';
import { HttpProvider } from './http/http.provider.js';
import { PartnerHttpClient } from './http/partner-http.client.js';
import { PartnerCallsService } from './partner-calls.service.js';
import { PollCursor } from './poll-cursor.entity.js';
import { PollCursorStore } from './poll-cursor.store.js';
import { ProviderRegistry } from './provider.registry.js';
import { ProvidersController } from './providers.controller.js';
import { ProvidersMetrics } from './providers.metrics.js';
import { ProvidersService } from './providers.service.js';
import { RateBudgets } from './rate-budgets.service.js';
import { ResealHandler } from './reseal.handler.js';

/** Providers (found at boot) and connections: accounts' instances of them, with sealed credentials. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Connection, PollCursor]),
    DiscoveryModule,
    AccountsModule,
    EventsModule,
    SchedulesModule,
  ],
  controllers: [ProvidersController, ConnectionsController],
  providers: [
    ConnectionStore,
    PollCursorStore,
    ConnectionSchedules,
    ProviderRegistry,
    ProvidersService,
    ConnectionsService,
    ResealHandler,
    PartnerHttpClient,
    PartnerCallsService,
    ProvidersMetrics,
    RateBudgets,
    HttpProvider,
    HttpActionHandler,
    HttpPollHandler,
  ],
  exports: [ProvidersService, ConnectionsService, PartnerCallsService, PartnerHttpClient, RateBudgets],
})
export class ProvidersModule {}
