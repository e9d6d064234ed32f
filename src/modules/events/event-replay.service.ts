import { Injectable } from '@nestjs/common';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { JobSummary } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { eventPattern } from './event-name.js';
import { eventView } from './event-view.js';
import type { Event } from './event.entity.js';
import { EventError, eventNotFound } from './event.error.js';
import { EventStore } from './event.store.js';
import type { EventPosition } from './event.store.js';
import { RoutesService } from './routes.service.js';

export const REPLAY_JOB_TYPE = 'events.replay';

export interface ReplayRange {
  pattern: string;
  from: Date;
  to: Date;
}

/** Routing stored events again with today's routes: one event at once, or many as a job. */
@Injectable()
export class EventReplayService {
  constructor(
    private readonly store: EventStore,
    private readonly jobs: JobsService,
    private readonly routes: RoutesService,
    private readonly serializer: WriteSerializer,
  ) {}

  /** Routes the event again with today's routes: new jobs, linked to it. */
  async replay(id: string): Promise<{ event: Event; jobs: JobSummary[] }> {
    return this.serializer.transaction(async (manager) => {
      const event = await this.store.findById(id, manager);
      if (!event) throw eventNotFound(id);
      const jobs = await this.jobs.enqueueMany(await this.routes.jobsFor(eventView(event)), manager);
      return { event, jobs };
    });
  }

  /** Starts a job that replays every event of the pattern received in [from, to). */
  async replayMany(range: ReplayRange): Promise<JobSummary> {
    eventPattern(range.pattern, 'pattern');
    if (!(range.from < range.to)) {
      throw new EventError('INVALID_REPLAY', 'from must be before to', [
        { field: 'to', problems: ['must be after from'] },
      ]);
    }
    return this.jobs.enqueue(REPLAY_JOB_TYPE, {
      pattern: range.pattern,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
    });
  }

  /**
   * One page of a replay: the events of the pattern received in [from, to) after `after`, each
   * routed again. Jobs are keyed by `replayKey`, so a replay that runs twice starts each job once.
   */
  async replayPage(
    range: ReplayRange,
    after: EventPosition | null,
    limit: number,
    replayKey: string,
  ): Promise<{
    scanned: number;
    replayed: number;
    jobs: number;
    last: EventPosition | null;
  }> {
    const pattern = eventPattern(range.pattern, 'pattern');
    return this.serializer.transaction(async (manager) => {
      const events = await this.store.receivedBetween(manager, range, after, limit);
      const matching = events.filter((event) => pattern.test(event.name));
      const requests = [];
      for (const event of matching) {
        requests.push(...(await this.routes.jobsFor(eventView(event), `${replayKey}:${event.id}`)));
      }
      await this.jobs.enqueueMany(requests, manager);
      const lastEvent = events.at(-1);
      return {
        scanned: events.length,
        replayed: matching.length,
        jobs: requests.length,
        last: lastEvent ? { receivedAt: lastEvent.receivedAt, id: lastEvent.id } : null,
      };
    });
  }

  /** Events received in [from, to), for a replay's progress. */
  countBetween(from: Date, to: Date): Promise<number> {
    return this.store.countBetween(from, to);
  }
}
