import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Batcher } from '../../common/batcher.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { ChangeFeed } from '../../database/change-feed.js';
import type { Change } from '../../database/change-feed.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { JobFailure, JobHandler, MAX_RETRY_AFTER_MS } from '../jobs/jobs.contract.js';
import { RateBudgets } from '../providers/rate-budgets.service.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { retryDelayMs } from './retry-schedule.js';
import {
  DELIVERIES_TOPIC,
  WEBHOOK_DELIVER_JOB_TYPE,
  WEBHOOK_ENDPOINT_DISABLED_EVENT,
} from './webhooks.contract.js';
import { WebhooksMetrics } from './webhooks.metrics.js';
import type { AttemptOutcome } from './webhooks.metrics.js';
import { WebhookAttempt } from './webhook-attempt.entity.js';
import type { WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryJobs } from './webhook-delivery-jobs.service.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import type { DeliverySettled, DeliveryToSend } from './webhook-delivery.store.js';
import type { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { WebhookFanOut } from './webhook-fan-out.service.js';
import type { DeliverPayload } from './webhook-fan-out.service.js';
import { DELIVERY_FAILED_CODE } from './webhook-job-outcomes.service.js';
import { WebhookSender } from './webhook-sender.service.js';
import type { SendOutcome } from './webhook-sender.service.js';

/** The smallest wait of an ordered delivery behind an earlier one, so it does not spin. */
const ORDER_WAIT_MS = 1000;

/** What the job records as its result when it succeeds. */
export interface DeliverResult {
  deliveryId: string;
  statusCode: number | null;
  /** Why nothing was sent, when nothing was. */
  skipped?: string;
}

/** How an attempt ends the delivery, if it does. */
type Verdict =
  | { kind: 'succeeded' }
  | { kind: 'retry'; waitMs: number }
  | { kind: 'failed'; disable: string | null }
  // Deleted with its endpoint during the attempt: there is nothing left to record it in.
  | { kind: 'gone' };

/** An attempt that reached the endpoint (or failed to), to be recorded. */
interface Attempted {
  ctx: JobContext<DeliverPayload>;
  endpoint: WebhookEndpoint;
  delivery: WebhookDelivery;
  outcome: SendOutcome;
  startedAt: Date;
}

/**
 * Runs one attempt of a delivery: signs and sends it, keeps the attempt, and decides what comes
 * next. 2xx succeeds; 410 disables the endpoint; 429 and 503 wait their Retry-After; everything
 * else waits the next step of the retry schedule, which the job engine follows because the
 * failure carries it as `retryAfterMs`. An endpoint failing for `JUNCTION_WEBHOOK_DISABLE_AFTER`
 * without one success is disabled, and `webhook.endpoint.disabled` emitted.
 */
@Injectable()
export class WebhookDeliveryHandler {
  constructor(
    private readonly deliveries: WebhookDeliveryStore,
    private readonly endpointStore: WebhookEndpointStore,
    private readonly endpoints: WebhookEndpointsService,
    private readonly sender: WebhookSender,
    private readonly fanOut: WebhookFanOut,
    private readonly budgets: RateBudgets,
    private readonly intake: EventIntakeService,
    private readonly metrics: WebhooksMetrics,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly deliveryJobs: WebhookDeliveryJobs,
    private readonly feed: ChangeFeed,
  ) {}

  /** Attempts that start together read their deliveries and endpoints in one statement. */
  private readonly reads = new Batcher<string, DeliveryToSend | null>(
    async (ids) => {
      const found = await this.deliveries.findWithEndpoints(ids);
      return ids.map((id) => found.get(id) ?? null);
    },
    { gather: true },
  );

  /** Attempts that end together are recorded in one transaction: one commit for many deliveries. */
  private readonly records = new Batcher<Attempted, Verdict>(
    (group) => this.serializer.transaction((manager) => this.record(manager, group)),
    { gather: true },
  );

  // concurrencyLimit 1: an ordered endpoint's jobs share a concurrency key, so one runs at a time.
  @JobHandler(WEBHOOK_DELIVER_JOB_TYPE, { queue: 'webhooks', timeoutMs: 30_000, concurrencyLimit: 1 })
  async deliver(ctx: JobContext<DeliverPayload>): Promise<DeliverResult> {
    const found = await this.reads.submit(ctx.payload.deliveryId);
    // Deleted with its endpoint, or finished by another job (a resend): nothing to do.
    if (!found) return { deliveryId: ctx.payload.deliveryId, statusCode: null, skipped: 'no such delivery' };
    const { delivery, endpoint } = found;
    if (delivery.status !== 'pending')
      return { deliveryId: delivery.id, statusCode: null, skipped: `the delivery is ${delivery.status}` };
    if (!endpoint) return { deliveryId: delivery.id, statusCode: null, skipped: 'no such endpoint' };
    if (!endpoint.enabled) {
      await this.serializer.transaction((m) =>
        this.deliveries.updateIfPending(m, delivery.id, {
          status: 'failed',
          nextAttemptAt: null,
          lastError: 'the endpoint is disabled',
          updatedAt: this.clock.now(),
        }),
      );
      throw failedForGood(`endpoint ${endpoint.id} is disabled`);
    }
    if (endpoint.ordered) await this.waitForEarlier(endpoint, delivery);
    // Over the endpoint's own limit, the job is put back (DEFERRED) without spending an attempt.
    if (endpoint.rateLimit) {
      await this.budgets.take(
        { id: `webhook:${endpoint.id}`, name: `webhook endpoint ${endpoint.id}`, config: {} },
        endpoint.rateLimit,
      );
    }

    const { secrets, headers } = this.endpoints.opened(endpoint);
    const startedAt = this.clock.now();
    let outcome: SendOutcome;
    try {
      outcome = await this.sender.send({
        url: endpoint.url,
        headers,
        secrets,
        messageId: delivery.eventId,
        body: delivery.body,
        signal: ctx.signal,
        log: (line) => ctx.log(line),
      });
    } catch (error) {
      if (ctx.signal.aborted) await this.recordStopped(ctx, delivery, startedAt);
      throw error;
    }
    const verdict = await this.records.submit({ ctx, endpoint, delivery, outcome, startedAt });
    if (verdict.kind === 'gone')
      return { deliveryId: delivery.id, statusCode: outcome.statusCode, skipped: 'its endpoint was deleted' };
    this.metrics.attempted(endpoint.id, metricOutcome(verdict, outcome), outcome.durationMs);
    switch (verdict.kind) {
      case 'succeeded':
        return { deliveryId: delivery.id, statusCode: outcome.statusCode };
      case 'retry':
        // Not a PERMANENT code: the engine retries after exactly this wait.
        throw new JobFailure(
          outcome.code === 'RATE_LIMITED' ? 'RATE_LIMITED' : 'DELIVERY_FAILED',
          outcome.error!,
          verdict.waitMs,
        );
      case 'failed':
        throw failedForGood(verdict.disable ?? outcome.error!);
    }
  }

  /**
   * An ordered endpoint's deliveries go in event order: one made after a delivery still pending
   * (waiting for its retry) waits too, without spending an attempt. The concurrency key keeps two
   * from running at once; this keeps a later one from overtaking an earlier one that failed.
   */
  private async waitForEarlier(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<void> {
    for (;;) {
      const earlier = await this.deliveries.earlierPending(endpoint.id, delivery.id);
      if (!earlier) return;
      if (!(await this.deliveryJobs.withLiveJob([earlier])).has(earlier.id)) {
        await this.failOrphan(earlier);
        continue;
      }
      const due = earlier.nextAttemptAt?.getTime() ?? 0;
      const waitMs = Math.max(ORDER_WAIT_MS, due - this.clock.now().getTime());
      throw JobFailure.deferred(
        `waits for the earlier delivery ${earlier.id} to the same ordered endpoint`,
        waitMs,
      );
    }
  }

  /** Fails a pending delivery no job will send, so an ordered endpoint is not held back by it. */
  private async failOrphan(delivery: WebhookDelivery): Promise<void> {
    const now = this.clock.now();
    // Only while still pending: it may have been resent since it was read.
    await this.serializer.transaction((manager) =>
      this.deliveries.updateIfPending(manager, delivery.id, {
        status: 'failed',
        nextAttemptAt: null,
        lastError: 'its job ended before sending it (cancelled); resend it to try again',
        updatedAt: now,
      }),
    );
  }

  /**
   * The job was stopped mid-request (its timeout, a cancel, a lost lease): the attempt is kept, and
   * the delivery stays pending only while the engine may run it again, so an ordered endpoint is
   * not held back by a delivery no job will finish.
   */
  private async recordStopped(
    ctx: JobContext<DeliverPayload>,
    delivery: WebhookDelivery,
    startedAt: Date,
  ): Promise<void> {
    const reason: unknown = ctx.signal.reason;
    const code =
      typeof reason === 'object' && reason !== null ? (reason as { code?: unknown }).code : undefined;
    const message = reason instanceof Error ? reason.message : String(reason);
    const over = code === 'CANCELLED' || ctx.attempt >= ctx.maxAttempts;
    const now = this.clock.now();
    await this.serializer.transaction(async (manager) => {
      if (!(await this.deliveries.lockPresent(manager, [delivery])).has(delivery.id)) return;
      await this.deliveries.addAttempt(
        manager,
        Object.assign(new WebhookAttempt(), {
          id: newId(),
          deliveryId: delivery.id,
          attempt: delivery.attempts + 1,
          statusCode: null,
          durationMs: now.getTime() - startedAt.getTime(),
          response: null,
          error: `stopped: ${message}`,
          startedAt,
        } satisfies WebhookAttempt),
      );
      // Only while still pending: a job whose lease expired was failed for it meanwhile, and the
      // delivery may have been resent since.
      await this.deliveries.updateIfPending(manager, delivery.id, {
        status: over ? 'failed' : 'pending',
        attempts: delivery.attempts + 1,
        nextAttemptAt: over ? null : now,
        lastError: `stopped: ${message}`,
        updatedAt: now,
      });
    });
  }

  /**
   * Keeps the attempts and moves their deliveries and endpoints on, in one transaction. The
   * attempts and the deliveries' new states are written together at the end, a statement or two
   * for the whole group; the endpoints' failing clocks are moved in order, as the attempts ended.
   */
  private async record(manager: EntityManager, group: Attempted[]): Promise<Verdict[]> {
    const now = this.clock.now();
    const verdicts: Verdict[] = [];
    const attempts: WebhookAttempt[] = [];
    const settled: { id: string; to: DeliverySettled }[] = [];
    const published: Change[] = [];
    // Endpoints whose failing clock this group already stopped with no failure since: stopping it
    // again would change nothing.
    const cleared = new Set<string>();
    const present = await this.deliveries.lockPresent(
      manager,
      group.map((attempted) => attempted.delivery),
    );
    for (const { ctx, endpoint, delivery, outcome, startedAt } of group) {
      // Recording it would break the whole group's transaction on the missing row, and every
      // delivery in the group would be sent again.
      if (!present.has(delivery.id)) {
        verdicts.push({ kind: 'gone' });
        continue;
      }
      const attempt = Object.assign(new WebhookAttempt(), {
        id: newId(),
        deliveryId: delivery.id,
        attempt: delivery.attempts + 1,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        response: outcome.response,
        error: outcome.error,
        startedAt,
      } satisfies WebhookAttempt);
      attempts.push(attempt);
      let verdict: Verdict;
      if (outcome.ok) {
        verdict = { kind: 'succeeded' };
        if (!cleared.has(endpoint.id)) {
          await this.endpointStore.markSucceeded(manager, endpoint.id);
          cleared.add(endpoint.id);
        }
      } else {
        cleared.delete(endpoint.id);
        verdict = await this.judgeFailure(manager, ctx, endpoint, outcome, now);
      }
      verdicts.push(verdict);
      const to = {
        status: verdict.kind === 'succeeded' ? 'succeeded' : verdict.kind === 'retry' ? 'pending' : 'failed',
        attempts: attempt.attempt,
        nextAttemptAt: verdict.kind === 'retry' ? new Date(now.getTime() + verdict.waitMs) : null,
        lastError: outcome.error,
        updatedAt: now,
      } as const;
      settled.push({ id: delivery.id, to });
      if (this.feed.active) {
        const { id, endpointId, eventId, eventName } = delivery;
        const data = { id, endpointId, eventId, eventName, ...to, statusCode: outcome.statusCode };
        published.push({ topic: DELIVERIES_TOPIC, key: id, data });
      }
    }
    await this.deliveries.addAttempts(manager, attempts);
    await this.deliveries.settleMany(manager, settled);
    if (published.length > 0) this.serializer.afterCommit(manager, () => this.feed.publish(published));
    return verdicts;
  }

  private async judgeFailure(
    manager: EntityManager,
    ctx: JobContext<DeliverPayload>,
    endpoint: WebhookEndpoint,
    outcome: SendOutcome,
    now: Date,
  ): Promise<Verdict> {
    // A refused address is our rule, not the endpoint failing: it does not count towards disabling.
    if (outcome.code === 'REFUSED') return { kind: 'failed', disable: null };
    if (outcome.statusCode === 410) {
      const reason = `${withoutQuery(endpoint.url)} answered 410 Gone`;
      await this.disable(manager, endpoint, reason, now);
      return { kind: 'failed', disable: reason };
    }
    const failingSince = await this.endpointStore.markFailing(manager, endpoint.id, now);
    const disableAfterMs = this.config.webhooks.disableAfterMs;
    if (now.getTime() - failingSince.getTime() >= disableAfterMs) {
      const reason = `failing without a success since ${failingSince.toISOString()}`;
      await this.disable(manager, endpoint, reason, now);
      return { kind: 'failed', disable: reason };
    }
    if (ctx.attempt >= ctx.maxAttempts) return { kind: 'failed', disable: null };
    // Retry-After is waited at most as long as the engine waits: a longer one (past the last date
    // JavaScript holds, even) left the attempt unrecordable, and those recorded with it sent again.
    const waitMs =
      outcome.code === 'RATE_LIMITED' && outcome.retryAfterMs !== null
        ? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS)
        : retryDelayMs(this.config.webhooks.retryScheduleMs, ctx.attempt + 1);
    return waitMs === null ? { kind: 'failed', disable: null } : { kind: 'retry', waitMs };
  }

  private async disable(
    manager: EntityManager,
    endpoint: WebhookEndpoint,
    reason: string,
    at: Date,
  ): Promise<void> {
    if (!(await this.endpointStore.disable(manager, endpoint.id, reason, at))) return;
    this.serializer.afterCommit(manager, () => this.fanOut.invalidate());
    await this.intake.emitOwn(manager, [
      {
        name: WEBHOOK_ENDPOINT_DISABLED_EVENT,
        data: { endpointId: endpoint.id, url: withoutQuery(endpoint.url), reason },
      },
    ]);
  }
}

/**
 * The endpoint's URL as events, errors and reasons show it: without its query (which may carry a
 * token), its credentials or its fragment.
 */
function withoutQuery(raw: string): string {
  const url = new URL(raw);
  return `${url.origin}${url.pathname}`;
}

/** The delivery is recorded failed already: its job ends for good without the outcome hook's help. */
function failedForGood(message: string): JobFailure {
  return Object.assign(new JobFailure(DELIVERY_FAILED_CODE, message), { permanent: true });
}

function metricOutcome(verdict: Exclude<Verdict, { kind: 'gone' }>, outcome: SendOutcome): AttemptOutcome {
  if (outcome.code === 'REFUSED') return 'refused';
  return verdict.kind === 'retry' ? 'retrying' : verdict.kind;
}
