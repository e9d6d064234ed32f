import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module.js';
import { Connection } from './connection.entity.js';
import { ConnectionStore } from './connection.store.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';
import { HttpProvider } from './http/http.provider.js';
import { PartnerHttpClient } from './http/partner-http.client.js';
import { ProviderRegistry } from './provider.registry.js';
import { ProvidersController } from './providers.controller.js';
import { ProvidersService } from './providers.service.js';
import { ResealHandler } from './reseal.handler.js';

/** Providers (found at boot) and connections: accounts' instances of them, with sealed credentials. */
@Module({
  imports: [TypeOrmModule.forFeature([Connection]), DiscoveryModule, AccountsModule],
  controllers: [ProvidersController, ConnectionsController],
  providers: [
    ConnectionStore,
    ProviderRegistry,
    ProvidersService,
    ConnectionsService,
    ResealHandler,
    PartnerHttpClient,
    HttpProvider,
  ],
  exports: [ProvidersService, ConnectionsService, PartnerHttpClient],
})
export class ProvidersModule {}
