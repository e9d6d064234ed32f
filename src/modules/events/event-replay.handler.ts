import { Injectable } from '@nestjs/common';
import type { JobContext } from '../jobs/jobs.contract.js';
import { JobHandler } from '../jobs/jobs.contract.js';
import { EventReplayService, REPLAY_JOB_TYPE } from './event-replay.service.js';
import type { EventPosition } from './event.store.js';

export interface ReplayPayload {
  pattern: string;
  /** ISO 8601; events received at or after. */
  from: string;
  /** ISO 8601; events received before. */
  to: string;
}

const PAGE = 200;

/**
 * Replays many events as one job that reports progress (events scanned, in percent). Its jobs are
 * keyed by this job's id, so a retried replay starts no job twice.
 */
@Injectable()
export class EventReplayHandler {
  constructor(private readonly replays: EventReplayService) {}

  @JobHandler(REPLAY_JOB_TYPE, { maxAttempts: 3 })
  async replay(ctx: JobContext<ReplayPayload>): Promise<{ scanned: number; replayed: number; jobs: number }> {
    const range = {
      pattern: ctx.payload.pattern,
      from: new Date(ctx.payload.from),
      to: new Date(ctx.payload.to),
    };
    const total = await this.replays.countBetween(range.from, range.to);
    const totals = { scanned: 0, replayed: 0, jobs: 0 };
    let after: EventPosition | null = null;
    for (;;) {
      ctx.signal.throwIfAborted();
      const page = await this.replays.replayPage(range, after, PAGE, `replay:${ctx.jobId}`);
      totals.scanned += page.scanned;
      totals.replayed += page.replayed;
      totals.jobs += page.jobs;
      if (!page.last) break;
      after = page.last;
      await ctx.progress(total === 0 ? 100 : Math.min(100, Math.round((totals.scanned / total) * 100)));
    }
    await ctx.progress(100);
    return totals;
  }
}
