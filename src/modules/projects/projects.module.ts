import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { EventsModule } from '../events/events.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { ProjectProvidersHandler } from './project-providers.handler.js';
import { ProjectRecordsController } from './project-records.controller.js';
import { ProjectRecordsService } from './project-records.service.js';
import { ProjectRecordsStore } from './project-records.store.js';
import { ProjectStore } from './project.store.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsService } from './projects.service.js';

/** Projects for development teams: members, invitations, and tokens that act only inside a project. */
@Module({
  imports: [AccountsModule, EventsModule, ProvidersModule, SchedulesModule],
  controllers: [ProjectsController, ProjectRecordsController],
  providers: [
    ProjectStore,
    ProjectsService,
    ProjectRecordsStore,
    ProjectRecordsService,
    ProjectProvidersHandler,
  ],
  exports: [ProjectsService, ProjectRecordsService],
})
export class ProjectsModule {}
