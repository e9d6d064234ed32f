import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { WebhookDelivery } from './webhook-delivery.entity.js';
import type { DeliverPayload } from './webhook-fan-out.service.js';
import { WEBHOOK_DELIVER_JOB_TYPE } from './webhooks.contract.js';

/** Job statuses from which a job may still run: waiting, running, or waiting to retry. */
const LIVE_STATUSES: ReadonlySet<string> = new Set(['queued', 'running', 'failed']);

/** What cancelling a job that ended (or was purged) since it was read answers. */
const ENDED_MEANWHILE: ReadonlySet<string> = new Set(['JOB_NOT_CANCELLABLE', 'JOB_NOT_FOUND']);

/** The delivery a `webhooks.deliver` job's payload names, if it names one. */
export function deliveryIdOf(payload: unknown): string | null {
  const id = (payload as Partial<DeliverPayload> | null)?.deliveryId;
  return typeof id === 'string' ? id : null;
}

/** What the job ledger says of deliveries' jobs. */
@Injectable()
export class WebhookDeliveryJobs {
  private readonly logger = new Logger('Webhooks');

  constructor(private readonly jobs: JobsService) {}

  /**
   * Those of these deliveries that a job may still send. A delivery's jobs are made in the
   * transaction that makes (or reopens) it, so a pending one without such a job will never be
   * sent: its job was cancelled, or ended before its outcome was recorded.
   */
  async withLiveJob(deliveries: readonly Pick<WebhookDelivery, 'id' | 'eventId'>[]): Promise<Set<string>> {
    return new Set((await this.liveJobs(deliveries)).map((job) => job.deliveryId));
  }

  /**
   * Cancels every job that may still send one of these deliveries (their endpoint was deleted): a
   * waiting one would otherwise sit among the retrying jobs for hours only to find nothing to send,
   * and a running one is stopped. A job that ended meanwhile is left as it ended.
   */
  async cancel(deliveries: readonly Pick<WebhookDelivery, 'id' | 'eventId'>[]): Promise<void> {
    for (const { jobId } of await this.liveJobs(deliveries)) {
      try {
        await this.jobs.cancel(jobId);
      } catch (error) {
        if (!(error instanceof DomainError && ENDED_MEANWHILE.has(error.code))) throw error;
        this.logger.debug(`job ${jobId} was not cancelled: ${error.message}`);
      }
    }
  }

  private async liveJobs(
    deliveries: readonly Pick<WebhookDelivery, 'id' | 'eventId'>[],
  ): Promise<{ jobId: string; deliveryId: string }[]> {
    if (deliveries.length === 0) return [];
    const asked = new Set(deliveries.map((d) => d.id));
    const live: { jobId: string; deliveryId: string }[] = [];
    for (const job of await this.jobs.ofEvents([...new Set(deliveries.map((d) => d.eventId))])) {
      if (job.type !== WEBHOOK_DELIVER_JOB_TYPE || !LIVE_STATUSES.has(job.status)) continue;
      const id = deliveryIdOf(job.payload);
      if (id !== null && asked.has(id)) live.push({ jobId: job.id, deliveryId: id });
    }
    return live;
  }
}
