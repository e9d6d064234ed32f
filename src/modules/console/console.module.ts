import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module.js';
import { Session } from './session.entity.js';
import { SessionStore } from './session.store.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

/** What the dashboard needs from the server: sign-in sessions. */
@Module({
  imports: [TypeOrmModule.forFeature([Session]), AccountsModule],
  controllers: [SessionsController],
  providers: [SessionStore, SessionsService],
})
export class ConsoleModule {}
