import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { resealInPasses } from '../../common/crypto/reseal-passes.js';
import { AppConfig } from '../../config/app-config.js';
import { EnqueuesJobs, JobFailure, JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { ConnectionsService } from './connections.service.js';

export const RESEAL_JOB_TYPE = 'connections.reseal';

/**
 * Key rotation: while `JUNCTION_SECRET_KEY_PREVIOUS` is set, every boot makes sure one
 * `connections.reseal` job exists for that previous key (its fingerprint is the idempotency key,
 * so several processes or restarts make one job). The job seals every credential again with the
 * current key; once it has succeeded the previous key can go.
 */
@Injectable()
@EnqueuesJobs(RESEAL_JOB_TYPE)
export class ResealHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(ResealHandler.name);

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobsService,
    private readonly connections: ConnectionsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const previous = this.config.previousSecretKey;
    if (!previous) return;
    const fingerprint = createHash('sha256').update(previous).digest('hex').slice(0, 16);
    const job = await this.jobs.enqueue(
      RESEAL_JOB_TYPE,
      {},
      { idempotencyKey: `${RESEAL_JOB_TYPE}:${fingerprint}` },
    );
    this.logger.log(
      `JUNCTION_SECRET_KEY_PREVIOUS is set: job ${job.id} seals stored credentials with the current key`,
    );
  }

  /**
   * A value that opens with neither key fails the job for good, naming its connections: another
   * attempt cannot open it either, and the previous key must not be dropped while they wait.
   * Passes repeat while a connection changed under one (`resealInPasses`).
   */
  @JobHandler(RESEAL_JOB_TYPE, { maxAttempts: 10 })
  async reseal(ctx: JobContext<Record<string, never>>): Promise<{ resealed: number; current: number }> {
    const { resealed, current, unopenable, unsettled } = await resealInPasses(() =>
      this.connections.resealAll(async (seen) => ctx.progress(seen)),
    );
    await ctx.log(`sealed ${resealed} credentials again; ${current} were sealed with the current key`);
    if (unopenable.length > 0) {
      throw JobFailure.permanent(
        `${unopenable.length} connection(s) hold credentials that open with neither JUNCTION_SECRET_KEY ` +
          `nor JUNCTION_SECRET_KEY_PREVIOUS, so they were not sealed again: ${unopenable.join(', ')}`,
      );
    }
    if (unsettled > 0) {
      // Retried: the next attempt starts over.
      throw new Error(
        `connections kept changing while they were sealed again; ${unsettled} still held values sealed with the previous key`,
      );
    }
    return { resealed, current };
  }
}
