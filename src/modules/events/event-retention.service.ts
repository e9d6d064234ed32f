import { Injectable } from '@nestjs/common';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JobsService } from '../jobs/jobs.service.js';
import { EventStore } from './event.store.js';
import type { EventPosition } from './event.store.js';

/** Events looked at per round of a purge. */
const PURGE_PAGE = 500;

/** Retention: old events and finished jobs go, so the database does not grow forever. */
@Injectable()
export class EventRetentionService {
  constructor(
    private readonly store: EventStore,
    private readonly jobs: JobsService,
    private readonly serializer: WriteSerializer,
  ) {}

  /**
   * Deletes finished jobs that finished before `cutoff`, then events received before it whose
   * jobs have all finished. An event with an unfinished job stays, whatever its age.
   */
  async purgeBefore(cutoff: Date): Promise<{ events: number; jobs: number }> {
    const jobs = await this.jobs.purge(cutoff);
    let events = 0;
    let after: EventPosition | null = null;
    for (;;) {
      const page = await this.store.receivedBefore(cutoff, after, PURGE_PAGE);
      if (page.length === 0) break;
      const ids = page.map((event) => event.id);
      const busy = await this.jobs.eventsWithUnfinishedJobs(ids);
      const doomed = ids.filter((id) => !busy.has(id));
      if (doomed.length > 0) {
        events += await this.serializer.transaction((manager) => this.store.deleteByIds(manager, doomed));
      }
      after = page[page.length - 1];
    }
    return { events, jobs };
  }
}
