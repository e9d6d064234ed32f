import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Account } from './account.entity.js';
import { AccountStore } from './account.store.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { AdminBootstrapService } from './admin-bootstrap.service.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeyStore } from './api-key.store.js';
import { ApiKeyStrategy } from './api-key.strategy.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyAuthGuard, RolesGuard } from './auth.guards.js';

@Module({
  imports: [TypeOrmModule.forFeature([Account, ApiKey]), PassportModule],
  controllers: [AccountsController, ApiKeysController],
  providers: [
    AccountStore,
    ApiKeyStore,
    AccountsService,
    ApiKeysService,
    ApiKeyStrategy,
    AdminBootstrapService,
    // Guards run in this order: who is calling, then whether their role suffices.
    { provide: APP_GUARD, useClass: ApiKeyAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [AccountsService, ApiKeysService],
})
export class AccountsModule {}
