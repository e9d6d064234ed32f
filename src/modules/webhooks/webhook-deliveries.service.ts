import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { WebhookAttempt } from './webhook-attempt.entity.js';
import type { DeliveryStatus, WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryJobs } from './webhook-delivery-jobs.service.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { WebhookError } from './webhook.error.js';
import { deliverRequest } from './webhook-fan-out.service.js';

export interface DeliveryDetails {
  delivery: WebhookDelivery;
  attempts: WebhookAttempt[];
}

/** Deliveries as admins see and steer them: lists, attempts, resends and recovery after an outage. */
@Injectable()
export class WebhookDeliveriesService {
  constructor(
    private readonly store: WebhookDeliveryStore,
    private readonly endpoints: WebhookEndpointStore,
    private readonly jobs: JobsService,
    private readonly deliveryJobs: WebhookDeliveryJobs,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async list(
    endpointId: string,
    status: DeliveryStatus | undefined,
    page: PageQueryDto,
  ): Promise<Page<WebhookDelivery>> {
    if (!isUUID(endpointId) || !(await this.endpoints.find(endpointId))) throw endpointNotFound(endpointId);
    return this.store.page(endpointId, status, page);
  }

  async get(id: string): Promise<DeliveryDetails> {
    const delivery = isUUID(id) ? await this.store.find(id) : null;
    if (!delivery) throw new WebhookError('DELIVERY_NOT_FOUND', `no webhook delivery ${id}`);
    return { delivery, attempts: await this.store.attempts(id) };
  }

  /**
   * Sends a delivery once more (one attempt, the same `webhook-id` and body): a finished one, or a
   * pending one that no job will send (its job was cancelled, or ended without an outcome).
   */
  async resend(id: string): Promise<WebhookDelivery> {
    const delivery = isUUID(id) ? await this.store.find(id) : null;
    if (!delivery) throw new WebhookError('DELIVERY_NOT_FOUND', `no webhook delivery ${id}`);
    if (delivery.status === 'pending' && (await this.deliveryJobs.withLiveJob([delivery])).has(id))
      throw stillPending(id);
    await this.serializer.transaction(async (manager) => {
      const endpoint = await this.endpoints.find(delivery.endpointId, manager);
      if (!endpoint?.enabled) throw disabled(delivery.endpointId);
      // Another resend or a recovery reopened it first: it is pending, and sent by their job.
      if (!(await this.store.reopen(manager, [delivery], this.clock.now())).has(id)) throw stillPending(id);
      await this.jobs.enqueueMany([this.resendRequest(delivery, endpoint.ordered)], manager);
    });
    return (await this.store.find(id))!;
  }

  /**
   * Sends once more every delivery to the endpoint made at or after `since` that failed, or is
   * pending with no job to send it, oldest first. Each is reopened only if no concurrent call did
   * it first, so a second call, even at the same time, sends nothing twice.
   */
  async recover(endpointId: string, since: Date): Promise<{ resent: number }> {
    const endpoint = isUUID(endpointId) ? await this.endpoints.find(endpointId) : null;
    if (!endpoint) throw endpointNotFound(endpointId);
    const unfinished = await this.store.unfinishedSince(endpointId, since);
    const pending = unfinished.filter((d) => d.status === 'pending');
    const live = await this.deliveryJobs.withLiveJob(pending);
    const due = unfinished.filter((d) => !live.has(d.id));
    return this.serializer.transaction(async (manager) => {
      const current = await this.endpoints.find(endpointId, manager);
      if (!current) throw endpointNotFound(endpointId);
      if (!current.enabled) throw disabled(endpointId);
      const reopened = await this.store.reopen(manager, due, this.clock.now());
      const resent = due.filter((d) => reopened.has(d.id));
      if (resent.length > 0)
        await this.jobs.enqueueMany(
          resent.map((d) => this.resendRequest(d, current.ordered)),
          manager,
        );
      return { resent: resent.length };
    });
  }

  private resendRequest(delivery: WebhookDelivery, ordered: boolean) {
    return deliverRequest(delivery, ordered, this.config.webhooks.retryScheduleMs, true);
  }
}

function stillPending(id: string): WebhookError {
  return new WebhookError('DELIVERY_PENDING', `delivery ${id} is still pending; it is sent again on its own`);
}

function endpointNotFound(id: string): WebhookError {
  return new WebhookError('ENDPOINT_NOT_FOUND', `no webhook endpoint ${id}`);
}

function disabled(id: string): WebhookError {
  return new WebhookError(
    'ENDPOINT_DISABLED',
    `webhook endpoint ${id} is disabled; enable it (PATCH enabled: true) before sending to it again`,
  );
}
