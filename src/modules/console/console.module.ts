import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module.js';
import { LiveStreamController } from './live-stream.controller.js';
import { LiveStreamService } from './live-stream.service.js';
import { Session } from './session.entity.js';
import { SessionStore } from './session.store.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

/** What the dashboard needs from the server: sign-in sessions, and the live stream of changes. */
@Module({
  imports: [TypeOrmModule.forFeature([Session]), AccountsModule],
  controllers: [SessionsController, LiveStreamController],
  providers: [SessionStore, SessionsService, LiveStreamService],
})
export class ConsoleModule {}
