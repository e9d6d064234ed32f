import { Injectable } from '@nestjs/common';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import type { JobSummary } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { eventPattern } from './event-name.js';
import { eventView } from './event-view.js';
import type { EventView } from './event-view.js';
import type { Event } from './event.entity.js';
import { eventNotFound } from './event.error.js';
import { EventStore } from './event.store.js';

export interface EventFilter {
  /** A name pattern such as `order.*`. */
  name?: string;
  source?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
}

/** Reading stored events: one with its jobs, or a filtered list. */
@Injectable()
export class EventsService {
  constructor(
    private readonly store: EventStore,
    private readonly jobs: JobsService,
  ) {}

  async get(id: string): Promise<{ event: Event; jobs: JobSummary[] }> {
    const event = await this.store.findById(id);
    if (!event) throw eventNotFound(id);
    return { event, jobs: await this.jobs.ofEvents([id]) };
  }

  /** The event as routes and jobs see it (no jobs read); null when there is none, or no longer. */
  async view(id: string): Promise<EventView | null> {
    const event = await this.store.findById(id);
    return event ? eventView(event) : null;
  }

  async list(filter: EventFilter, page: PageQueryDto): Promise<Page<Event>> {
    const { source, from, to, name } = filter;
    if (name === undefined) return this.store.list({ source, from, to }, page);
    const pattern = eventPattern(name, 'name');
    if (!name.includes('*')) return this.store.list({ source, from, to, name }, page);
    // A glob: SQL narrows by its literal head (wildcards are whole segments), the pattern matches
    // in full here. A page may then hold fewer items than asked for; its cursor still goes on.
    const namePrefix = name.slice(0, name.indexOf('*'));
    const found = await this.store.list({ source, from, to, namePrefix }, page);
    return { items: found.items.filter((event) => pattern.test(event.name)), nextCursor: found.nextCursor };
  }
}
