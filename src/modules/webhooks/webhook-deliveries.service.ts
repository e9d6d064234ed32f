import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { inChunks } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { WebhookAttempt } from './webhook-attempt.entity.js';
import type { DeliveryStatus, WebhookDelivery } from './webhook-delivery.entity.js';
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

  /** Sends a finished delivery once more (one attempt, the same `webhook-id` and body). */
  async resend(id: string): Promise<WebhookDelivery> {
    await this.serializer.transaction(async (manager) => {
      const delivery = isUUID(id) ? await this.store.find(id, manager) : null;
      if (!delivery) throw new WebhookError('DELIVERY_NOT_FOUND', `no webhook delivery ${id}`);
      if (delivery.status === 'pending') {
        throw new WebhookError(
          'DELIVERY_PENDING',
          `delivery ${id} is still pending; it is sent again on its own`,
        );
      }
      const endpoint = await this.endpoints.find(delivery.endpointId, manager);
      if (!endpoint?.enabled) throw disabled(delivery.endpointId);
      await this.store.reopen(manager, [id], this.clock.now());
      await this.jobs.enqueueMany([this.resendRequest(delivery, endpoint.ordered)], manager);
    });
    return (await this.store.find(id))!;
  }

  /**
   * Sends once more every delivery to the endpoint that failed and was made at or after `since`,
   * oldest first; a second call finds them pending or succeeded and sends nothing twice.
   */
  async recover(endpointId: string, since: Date): Promise<{ resent: number }> {
    return this.serializer.transaction(async (manager) => {
      const endpoint = isUUID(endpointId) ? await this.endpoints.find(endpointId, manager) : null;
      if (!endpoint) throw endpointNotFound(endpointId);
      if (!endpoint.enabled) throw disabled(endpointId);
      const failed = await this.store.failedSince(manager, endpointId, since);
      const now = this.clock.now();
      for (const part of inChunks(failed, 500)) {
        await this.store.reopen(
          manager,
          part.map((d) => d.id),
          now,
        );
      }
      if (failed.length > 0)
        await this.jobs.enqueueMany(
          failed.map((d) => this.resendRequest(d, endpoint.ordered)),
          manager,
        );
      return { resent: failed.length };
    });
  }

  private resendRequest(delivery: WebhookDelivery, ordered: boolean) {
    return deliverRequest(delivery, ordered, this.config.webhooks.retryScheduleMs, true);
  }
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
