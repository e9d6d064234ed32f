import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import { eventNameFrom, eventNameProblems, INBOUND_RATE_LIMIT_SCHEMA } from '../webhooks/webhook-config.js';
import {
  assertFresh,
  hmac,
  readPayload,
  anySignatureMatches,
  WebhookRefused,
} from '../webhooks/webhook-verification.js';
import type {
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from '../webhooks/webhook-verification.js';

/** The Standard Webhooks spec allows this much clock difference between sender and receiver. */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` (within 5 minutes)
 * and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
 * `id.timestamp.body` keyed with the secret's base64 after `whsec_`; any one valid signature
 * passes, so a sender rotating its key signs with both. The event is named by `eventName`
 * (default: the payload's `type`); the delivery id is `webhook-id`.
 */
@Injectable()
@Provider({
  key: 'standard-webhooks',
  title: 'Standard Webhooks sender',
  kinds: ['webhooks'],
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      eventName: {
        type: 'string',
        maxLength: 200,
        default: '{{body.type}}',
        description: 'A template over the payload (body) and headers',
      },
      inboundRateLimit: INBOUND_RATE_LIMIT_SCHEMA,
    },
  },
  credentialTypes: ['none'],
  capabilities: ['webhooks'],
})
export class StandardWebhooksProvider implements ConnectionProvider {
  validate(config: Record<string, unknown>): SchemaViolation[] {
    return eventNameProblems(config);
  }

  verifyWebhook(request: InboundWebhook, { secrets, config, now }: WebhookVerifyContext): VerifiedWebhook {
    const id = request.headers['webhook-id'];
    const timestamp = request.headers['webhook-timestamp'];
    const signatures = request.headers['webhook-signature'];
    if (!id || !timestamp || !signatures)
      throw new WebhookRefused('webhook-id, webhook-timestamp and webhook-signature are required');
    assertFresh(timestamp, now, TOLERANCE_SECONDS);
    const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), request.rawBody]);
    const given = signatures
      .split(' ')
      .filter((signature) => signature.startsWith('v1,'))
      .map((signature) => signature.slice(3));
    const expected = secrets.map((secret) => hmac('sha256', keyOf(secret), content, 'base64'));
    if (!anySignatureMatches(given, expected))
      throw new WebhookRefused('no webhook-signature matches the body');
    const payload = readPayload(request);
    const template = typeof config.eventName === 'string' ? config.eventName : '{{body.type}}';
    return { kind: 'event', name: eventNameFrom(template, request, payload), deliveryId: id, data: payload };
  }
}

/** The key of a `whsec_<base64>` secret: its bytes. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}
