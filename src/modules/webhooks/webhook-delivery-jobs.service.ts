import { Injectable } from '@nestjs/common';
import { JobsService } from '../jobs/jobs.service.js';
import type { WebhookDelivery } from './webhook-delivery.entity.js';
import type { DeliverPayload } from './webhook-fan-out.service.js';
import { WEBHOOK_DELIVER_JOB_TYPE } from './webhooks.contract.js';

/** Job statuses from which a job may still run: waiting, running, or waiting to retry. */
const LIVE_STATUSES: ReadonlySet<string> = new Set(['queued', 'running', 'failed']);

/** The delivery a `webhooks.deliver` job's payload names, if it names one. */
export function deliveryIdOf(payload: unknown): string | null {
  const id = (payload as Partial<DeliverPayload> | null)?.deliveryId;
  return typeof id === 'string' ? id : null;
}

/** What the job ledger says of deliveries' jobs. */
@Injectable()
export class WebhookDeliveryJobs {
  constructor(private readonly jobs: JobsService) {}

  /**
   * Those of these deliveries that a job may still send. A delivery's jobs are made in the
   * transaction that makes (or reopens) it, so a pending one without such a job will never be
   * sent: its job was cancelled, or ended before its outcome was recorded.
   */
  async withLiveJob(deliveries: readonly WebhookDelivery[]): Promise<Set<string>> {
    const live = new Set<string>();
    if (deliveries.length === 0) return live;
    const asked = new Set(deliveries.map((d) => d.id));
    for (const job of await this.jobs.ofEvents([...new Set(deliveries.map((d) => d.eventId))])) {
      if (job.type !== WEBHOOK_DELIVER_JOB_TYPE || !LIVE_STATUSES.has(job.status)) continue;
      const id = deliveryIdOf(job.payload);
      if (id !== null && asked.has(id)) live.add(id);
    }
    return live;
  }
}
