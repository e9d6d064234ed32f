import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { EventsModule } from '../events/events.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { RecordCache } from './record-cache.js';
import { RecordStore } from './record.store.js';
import { ScheduledSyncHandler } from './scheduled-sync.handler.js';
import { SyncRunHandler } from './sync-run.handler.js';
import { SyncStore } from './sync.store.js';
import { SyncsController } from './syncs.controller.js';
import { SyncsService } from './syncs.service.js';

/** Syncs: an account's connections read into the records platform, one run per connection and content type. */
@Module({
  imports: [AccountsModule, EventsModule, ProvidersModule, SchedulesModule],
  controllers: [SyncsController],
  providers: [SyncStore, RecordCache, RecordStore, SyncsService, SyncRunHandler, ScheduledSyncHandler],
})
export class SyncsModule {}
