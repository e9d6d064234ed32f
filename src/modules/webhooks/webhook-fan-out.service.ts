import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { compileFilter } from '../../common/event-filter.js';
import { ExpiringCache } from '../../common/expiring-cache.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { compileEventPattern } from '../events/events.contract.js';
import type { EventSubscriber, PublishedEvent } from '../events/events.contract.js';
import { EventSubscribers } from '../events/event-subscribers.service.js';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import { WEBHOOK_DELIVER_JOB_TYPE, WEBHOOK_ENDPOINT_DISABLED_EVENT } from './webhooks.contract.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';

interface CompiledEndpoint {
  id: string;
  ordered: boolean;
  patterns: RegExp[];
  filter: ((event: PublishedEvent) => boolean) | null;
}

/** The job payload of one delivery attempt: the delivery row holds the rest. */
export interface DeliverPayload {
  deliveryId: string;
}

/**
 * Makes one delivery (a row and a `webhooks.deliver` job) per event and matching enabled
 * endpoint, in the transaction that stores the event. Endpoints are compiled once and kept for
 * `events.cacheMs` like routes, so an installation without endpoints pays one array check per event.
 */
@Injectable()
export class WebhookFanOut implements EventSubscriber, OnModuleInit {
  private readonly logger = new Logger('Webhooks');
  private readonly compiled: ExpiringCache<CompiledEndpoint[]>;

  constructor(
    private readonly subscribers: EventSubscribers,
    private readonly endpoints: WebhookEndpointStore,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {
    this.compiled = new ExpiringCache(() => this.load(), config.events.cacheMs);
  }

  onModuleInit(): void {
    this.subscribers.register(this);
  }

  /** A change made through this process applies to the next event. */
  invalidate(): void {
    this.compiled.invalidate();
  }

  async onStored(manager: EntityManager, events: PublishedEvent[]): Promise<EnqueueRequest[]> {
    const endpoints = await this.compiled.get();
    if (endpoints.length === 0) return [];
    const now = this.clock.now();
    const rows: WebhookDelivery[] = [];
    const requests: EnqueueRequest[] = [];
    for (const event of events) {
      for (const endpoint of endpoints) {
        if (!endpoint.patterns.some((pattern) => pattern.test(event.name)) || !this.passes(endpoint, event))
          continue;
        // An endpoint's own disabling is stored in the transaction that disables it, before this
        // cache knows: it is not sent to the endpoint it tells of.
        if (event.name === WEBHOOK_ENDPOINT_DISABLED_EVENT && disabledEndpointOf(event) === endpoint.id)
          continue;
        const delivery = newDelivery(endpoint.id, event, now);
        rows.push(delivery);
        requests.push(deliverRequest(delivery, endpoint.ordered, this.config.webhooks.retryScheduleMs));
      }
    }
    await this.deliveries.insert(manager, rows);
    return requests;
  }

  private passes(endpoint: CompiledEndpoint, event: PublishedEvent): boolean {
    if (!endpoint.filter) return true;
    try {
      return endpoint.filter(event);
    } catch (error) {
      this.logger.warn(`endpoint ${endpoint.id}: the filter failed on event ${event.id}: ${String(error)}`);
      return false;
    }
  }

  private async load(): Promise<CompiledEndpoint[]> {
    const compiled: CompiledEndpoint[] = [];
    for (const row of await this.endpoints.listEnabled()) {
      let filter: CompiledEndpoint['filter'] = null;
      try {
        if (row.filter) filter = compileFilter<PublishedEvent>(row.filter);
      } catch (error) {
        // Saved before its operator was refused (`$where`): it must not run.
        this.logger.warn(`webhook endpoint ${row.id} is skipped: its filter ${(error as Error).message}`);
        continue;
      }
      // Patterns were checked when the endpoint was saved.
      const patterns = row.eventPatterns.flatMap((p) => compileEventPattern(p) ?? []);
      compiled.push({ id: row.id, ordered: row.ordered, patterns, filter });
    }
    return compiled;
  }
}

function disabledEndpointOf(event: PublishedEvent): unknown {
  const data = event.data;
  return typeof data === 'object' && data !== null
    ? (data as { endpointId?: unknown }).endpointId
    : undefined;
}

/** Compiles a filter, throwing sift's message for one that is not a query (or uses `$where`). */
export function checkFilter(filter: Record<string, unknown>): void {
  compileFilter(filter);
}

/**
 * The job of one delivery. Attempts follow the retry schedule (one per entry; a resend gets one).
 * An ordered endpoint's jobs share a concurrency key, so one runs at a time.
 */
export function deliverRequest(
  delivery: WebhookDelivery,
  ordered: boolean,
  schedule: readonly number[],
  resend = false,
): EnqueueRequest {
  const payload: DeliverPayload = { deliveryId: delivery.id };
  return {
    type: WEBHOOK_DELIVER_JOB_TYPE,
    payload,
    options: {
      eventId: delivery.eventId,
      delayMs: resend ? 0 : schedule[0],
      maxAttempts: resend ? 1 : schedule.length,
      concurrencyKey: ordered ? `webhook:${delivery.endpointId}` : undefined,
    },
  };
}

function newDelivery(endpointId: string, event: PublishedEvent, now: Date): WebhookDelivery {
  const delivery = new WebhookDelivery();
  delivery.id = newId();
  delivery.endpointId = endpointId;
  delivery.eventId = event.id;
  delivery.eventName = event.name;
  delivery.body = JSON.stringify({ type: event.name, timestamp: event.occurredAt, data: event });
  delivery.status = 'pending';
  delivery.attempts = 0;
  delivery.nextAttemptAt = now;
  delivery.lastError = null;
  delivery.createdAt = now;
  delivery.updatedAt = now;
  return delivery;
}
