import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import type { PublishedEvent } from './event-view.js';

/**
 * A higher module's interest in every stored event (the webhooks module fans events out to its
 * endpoints this way), since the events module may not know the modules above it.
 */
export interface EventSubscriber {
  /**
   * Runs inside the transaction that stores the events, after they are inserted: rows it writes
   * commit with them, and the jobs it returns are enqueued in the same transaction (give each its
   * `eventId`, so the event lists it). Keep it cheap when nothing concerns it; it must not throw for
   * anything but a database failure, which rolls the events back.
   */
  onStored(manager: EntityManager, events: PublishedEvent[]): Promise<EnqueueRequest[]>;
}

/** Where event intake looks for subscribers; modules register at init. */
@Injectable()
export class EventSubscribers {
  private readonly subscribers: EventSubscriber[] = [];

  register(subscriber: EventSubscriber): void {
    this.subscribers.push(subscriber);
  }

  async collect(manager: EntityManager, events: PublishedEvent[]): Promise<EnqueueRequest[]> {
    if (events.length === 0 || this.subscribers.length === 0) return [];
    const requests: EnqueueRequest[] = [];
    for (const subscriber of this.subscribers) requests.push(...(await subscriber.onStored(manager, events)));
    return requests;
  }
}
