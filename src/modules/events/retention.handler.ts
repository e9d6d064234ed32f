import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { JobHandler } from '../jobs/jobs.contract.js';
import { EventRetentionService } from './event-retention.service.js';
import { RETENTION_JOB_TYPE } from './events.contract.js';

const DAY_MS = 86_400_000;

export interface RetentionResult {
  /** Events and finished jobs from before this time were purged. */
  cutoff: string;
  events: number;
  jobs: number;
}

/** The job the built-in retention schedule enqueues: purges what is older than JUNCTION_RETENTION_DAYS. */
@Injectable()
export class RetentionHandler {
  constructor(
    private readonly retention: EventRetentionService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  @JobHandler(RETENTION_JOB_TYPE, { maxAttempts: 3 })
  async purge(ctx: JobContext): Promise<RetentionResult> {
    const cutoff = new Date(this.clock.now().getTime() - this.config.events.retentionDays * DAY_MS);
    const purged = await this.retention.purgeBefore(cutoff);
    await ctx.log(
      `purged ${purged.events} event(s) and ${purged.jobs} job(s) from before ${cutoff.toISOString()}`,
    );
    return { cutoff: cutoff.toISOString(), ...purged };
  }
}
