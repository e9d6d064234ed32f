import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import { resealInPasses } from '../../common/crypto/reseal-passes.js';
import { AppConfig } from '../../config/app-config.js';
import { EnqueuesJobs, JobFailure, JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { WEBHOOK_RESEAL_JOB_TYPE } from './webhooks.contract.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

/**
 * Key rotation, as connections have it: while `JUNCTION_SECRET_KEY_PREVIOUS` is set, every boot
 * makes sure one `webhooks.reseal` job exists for that previous key, which seals every endpoint's
 * signing secrets and headers again with the current key.
 */
@Injectable()
@EnqueuesJobs(WEBHOOK_RESEAL_JOB_TYPE)
export class WebhookResealHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobsService,
    private readonly endpoints: WebhookEndpointsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const previous = this.config.previousSecretKey;
    if (!previous) return;
    const fingerprint = createHash('sha256').update(previous).digest('hex').slice(0, 16);
    const job = await this.jobs.enqueue(
      WEBHOOK_RESEAL_JOB_TYPE,
      {},
      { idempotencyKey: `${WEBHOOK_RESEAL_JOB_TYPE}:${fingerprint}` },
    );
    this.logger.log(
      `JUNCTION_SECRET_KEY_PREVIOUS is set: job ${job.id} seals webhook secrets with the current key`,
    );
  }

  /**
   * An endpoint whose values open with neither key fails the job for good, named: another attempt
   * cannot open it either. Passes repeat while an endpoint changed under one (`resealInPasses`).
   */
  @JobHandler(WEBHOOK_RESEAL_JOB_TYPE, { maxAttempts: 10 })
  async reseal(ctx: JobContext<Record<string, never>>): Promise<{ resealed: number; current: number }> {
    const { resealed, current, unopenable, unsettled } = await resealInPasses(() =>
      this.endpoints.resealAll(async (seen) => ctx.progress(seen)),
    );
    await ctx.log(`sealed ${resealed} endpoints' secrets again; ${current} were sealed with the current key`);
    if (unopenable.length > 0) {
      throw JobFailure.permanent(
        `${unopenable.length} webhook endpoint(s) hold secrets or headers that open with neither ` +
          `JUNCTION_SECRET_KEY nor JUNCTION_SECRET_KEY_PREVIOUS, so they were not sealed again: ${unopenable.join(', ')}`,
      );
    }
    if (unsettled > 0) {
      // Retried: the next attempt starts over.
      throw new Error(
        `webhook endpoints kept changing while they were sealed again; ${unsettled} still held values sealed with the previous key`,
      );
    }
    return { resealed, current };
  }
}
