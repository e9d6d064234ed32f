import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { ProvisioningFlows } from './provisioning-flows.handler.js';
import {
  FlavorsController,
  ProvidersHealthController,
  ServicesAdminController,
  ServicesController,
} from './provisioning.controller.js';
import { ProvisioningService } from './provisioning.service.js';
import { ProvisioningStore } from './provisioning.store.js';
import { ServiceActionHandler } from './service-action.handler.js';

/** Services deployed across several CDN providers at once, with DNS pointing at them, driven by flows. */
@Module({
  imports: [EventsModule, ProvidersModule, ProjectsModule],
  controllers: [FlavorsController, ServicesController, ServicesAdminController, ProvidersHealthController],
  providers: [ProvisioningStore, ProvisioningService, ProvisioningFlows, ServiceActionHandler],
})
export class ProvisioningModule {}
