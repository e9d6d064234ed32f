import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { JobOutcomeHooks } from '../jobs/jobs.contract.js';
import type { FinalStatus, FinishedJob, JobOutcomeListener } from '../jobs/jobs.contract.js';
import { deliveryIdOf } from './webhook-delivery-jobs.service.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WEBHOOK_DELIVER_JOB_TYPE } from './webhooks.contract.js';

/**
 * The code of a delivery job that fails for good after recording its delivery `failed` itself.
 * Other dead delivery jobs ended without recording an outcome.
 */
export const DELIVERY_FAILED_CODE = 'DELIVERY_FAILED_FINAL';

/**
 * Fails the delivery of a `webhooks.deliver` job that died without recording an outcome: its
 * worker crashed on the last attempt (the lease expired), or the handler threw on it before the
 * delivery was settled. Left pending, no job would ever send it, and resend and recover would not
 * touch it. Written in the transaction that records the job dead, so neither is kept without the
 * other.
 */
@Injectable()
export class WebhookJobOutcomes implements JobOutcomeListener, OnModuleInit {
  constructor(
    private readonly hooks: JobOutcomeHooks,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.hooks.register(this);
  }

  wants(status: FinalStatus): boolean {
    return status === 'dead';
  }

  async onFinished(manager: EntityManager, jobs: FinishedJob[]): Promise<void> {
    const now = this.clock.now();
    for (const job of jobs) {
      if (job.type !== WEBHOOK_DELIVER_JOB_TYPE || job.error?.code === DELIVERY_FAILED_CODE) continue;
      const deliveryId = deliveryIdOf(job.payload);
      if (deliveryId === null) continue;
      const why = job.error ? `${job.error.code}: ${job.error.message}` : 'no error given';
      // Only a delivery still pending: one settled before its job died keeps what it came to.
      await this.deliveries.updateIfPending(manager, deliveryId, {
        status: 'failed',
        nextAttemptAt: null,
        lastError: `its job ended before recording an outcome (${why}); resend it to try again`,
        updatedAt: now,
      });
    }
  }
}
