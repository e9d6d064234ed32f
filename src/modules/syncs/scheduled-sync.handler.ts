import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { SCHEDULED_SYNC_JOB_TYPE } from '../providers/providers.contract.js';
import { SyncsService } from './syncs.service.js';

export class ScheduledSyncPayload {
  @IsUUID()
  connectionId!: string;
}

/**
 * `syncs.scheduled`: what a connection's sync schedule (its `settings.syncEvery`) fires. It starts a
 * sync of the connection like `POST /accounts/{id}/syncs` would; a type already queued, running or
 * paused keeps that run.
 */
@Injectable()
export class ScheduledSyncHandler {
  constructor(private readonly syncs: SyncsService) {}

  @JobHandler(SCHEDULED_SYNC_JOB_TYPE, { queue: 'syncs', maxAttempts: 3, payload: ScheduledSyncPayload })
  async start(
    ctx: JobContext<ScheduledSyncPayload>,
  ): Promise<{ syncId: string; runIds: string[] } | { skipped: string }> {
    const started = await this.syncs.startScheduled(ctx.payload.connectionId);
    if ('skipped' in started) return started;
    return { syncId: started.sync.id, runIds: started.runs.map((run) => run.id) };
  }
}
