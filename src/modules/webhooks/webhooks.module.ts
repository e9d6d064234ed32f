import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventsModule } from '../events/events.module.js';
import { ProvidersModule } from '../providers/providers.module.js';
import { WebhookAttempt } from './webhook-attempt.entity.js';
import { WebhookDeliveriesController } from './webhook-deliveries.controller.js';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryJobs } from './webhook-delivery-jobs.service.js';
import { WebhookDeliveryHandler } from './webhook-delivery.handler.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { WebhookEndpointsController } from './webhook-endpoints.controller.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { WebhookFanOut } from './webhook-fan-out.service.js';
import { WebhookJobOutcomes } from './webhook-job-outcomes.service.js';
import { WebhookResealHandler } from './webhook-reseal.handler.js';
import { WebhookSender } from './webhook-sender.service.js';
import { WebhooksMetrics } from './webhooks.metrics.js';

/** Outbound webhooks: endpoints, signed deliveries fanned out from stored events, every attempt kept. */
@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookEndpoint, WebhookDelivery, WebhookAttempt]),
    EventsModule,
    ProvidersModule,
  ],
  controllers: [WebhookEndpointsController, WebhookDeliveriesController],
  providers: [
    WebhookEndpointStore,
    WebhookDeliveryStore,
    WebhookFanOut,
    WebhookEndpointsService,
    WebhookDeliveriesService,
    WebhookDeliveryJobs,
    WebhookJobOutcomes,
    WebhookSender,
    WebhookDeliveryHandler,
    WebhookResealHandler,
    WebhooksMetrics,
  ],
})
export class WebhooksModule {}
