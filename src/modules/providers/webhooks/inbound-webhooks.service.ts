import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { Clock } from '../../../common/clock.js';
import { DomainError } from '../../../common/errors/domain-error.js';
import { storableKey } from '../../../common/storable-key.js';
import { EventIntakeService } from '../../events/event-intake.service.js';
import type { Connection } from '../connection.entity.js';
import { ConnectionStore } from '../connection.store.js';
import { ConnectionsService } from '../connections.service.js';
import type { ConnectionProvider, RateLimit } from '../provider.decorator.js';
import { ProviderRegistry } from '../provider.registry.js';
import { ProvidersMetrics } from '../providers.metrics.js';
import type { WebhookResult } from '../providers.metrics.js';
import { isRateLimit, RateBudgets } from '../rate-budgets.service.js';
import { WebhookError } from './webhook.error.js';
import { webhookEventName } from './webhook-config.js';
import { WebhookRefused, WebhookUnreadable } from './webhook-verification.js';
import type { InboundWebhook, VerifiedWebhook } from './webhook-verification.js';

/** How many webhooks one connection takes in, unless its config says `inboundRateLimit`. */
export const DEFAULT_INBOUND_LIMIT: RateLimit = { requests: 100, perMs: 1000 };

/** How a delivery was answered: 202 for a new event, 200 for a duplicate or an ignored message (a ping). */
export interface Received {
  status: 200 | 202;
  eventId: string | null;
  duplicate: boolean;
  ignored?: string;
}

/**
 * Inbound webhooks: `POST /webhooks/{connectionId}` is public and trusts only a signature its
 * connection's provider verifies on the exact bytes received. A verified delivery becomes an event
 * of source `connection:<id>` keyed by its delivery id, routed like any other; a redelivery stores
 * nothing twice. Every outcome is counted in `junction_webhooks_received_total`.
 */
@Injectable()
export class InboundWebhooksService {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly store: ConnectionStore,
    private readonly registry: ProviderRegistry,
    private readonly connections: ConnectionsService,
    private readonly intake: EventIntakeService,
    private readonly budgets: RateBudgets,
    private readonly metrics: ProvidersMetrics,
    private readonly clock: Clock,
  ) {}

  async receive(connectionId: string, request: InboundWebhook): Promise<Received> {
    // A malformed id names no connection, as an unknown one does (and never reaches the database).
    const connection = isUUID(connectionId) ? await this.store.find(connectionId) : null;
    const verifier = connection ? this.registry.find(connection.provider)?.instance : undefined;
    if (!connection || !verifier?.verifyWebhook) {
      throw new WebhookError('WEBHOOK_NOT_FOUND', `no connection with id ${connectionId} receives webhooks`);
    }
    const count = (result: WebhookResult) => this.metrics.webhookReceived(connection.provider, result);
    // The signature first: a caller without it learns nothing of the connection (not even that it
    // is paused) and spends none of its inbound budget, so it cannot crowd out the partner's deliveries.
    const verified = this.verify(connection, verifier.verifyWebhook.bind(verifier), request, count);
    if (connection.state === 'paused') {
      count('paused');
      throw new WebhookError('WEBHOOK_CONNECTION_PAUSED', `connection ${connection.name} is paused`);
    }
    const waitMs = await this.inboundWait(connection.id, connection.config);
    if (waitMs > 0) {
      count('rate_limited');
      throw new WebhookError(
        'WEBHOOK_RATE_LIMITED',
        `connection ${connection.name} takes no more webhooks for ${waitMs} ms`,
        { retryAfterSeconds: Math.ceil(waitMs / 1000) },
      );
    }
    if (verified.kind === 'ignored') {
      count('ignored');
      return { status: 200, eventId: null, duplicate: false, ignored: verified.reason };
    }
    try {
      const { event, duplicate } = await this.intake.ingest(
        {
          name: webhookEventName(verified.name),
          source: `connection:${connection.id}`,
          idempotencyKey: verified.deliveryId
            ? storableKey(verified.deliveryId)
            : // A sender that names no delivery: the same bytes are the same delivery.
              createHash('sha256').update(request.rawBody).digest('hex'),
          data: verified.data,
        },
        null,
      );
      count(duplicate ? 'duplicate' : 'accepted');
      return { status: duplicate ? 200 : 202, eventId: event.id, duplicate };
    } catch (error) {
      if (error instanceof DomainError) count('rejected_event');
      throw error;
    }
  }

  /** The connection's provider checks the signature, then reads the body: 401 or 400 when it cannot. */
  private verify(
    connection: Connection,
    verifyWebhook: NonNullable<ConnectionProvider['verifyWebhook']>,
    request: InboundWebhook,
    count: (result: WebhookResult) => void,
  ): VerifiedWebhook {
    try {
      return verifyWebhook(request, {
        secrets: this.connections.webhookSecrets(connection),
        config: connection.config,
        now: this.clock.now(),
      });
    } catch (error) {
      if (error instanceof WebhookRefused) {
        count('refused');
        throw new WebhookError('WEBHOOK_SIGNATURE_INVALID', error.message);
      }
      if (error instanceof WebhookUnreadable) {
        count('unreadable');
        throw new WebhookError('WEBHOOK_BODY_UNREADABLE', error.message);
      }
      throw error;
    }
  }

  /** The wait before the connection takes another webhook; none when the limit's store cannot be read. */
  private async inboundWait(connectionId: string, config: Record<string, unknown>): Promise<number> {
    const limit = isRateLimit(config.inboundRateLimit) ? config.inboundRateLimit : DEFAULT_INBOUND_LIMIT;
    try {
      return await this.budgets.takeInbound({ id: connectionId }, limit);
    } catch (error) {
      // Refusing every partner because Redis is away would lose more than an unlimited minute.
      this.logger.warn(`the inbound limit of connection ${connectionId} could not be read: ${String(error)}`);
      return 0;
    }
  }
}
