import { Injectable } from '@nestjs/common';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import { INBOUND_ONLY_CONFIG_SCHEMA } from '../webhooks/webhook-config.js';
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

/** Stripe's default tolerance between its timestamp and now. */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * Stripe's webhooks: `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=...]`, the hex HMAC-SHA256 of
 * `t.body` keyed with the endpoint secret as Stripe shows it (`whsec_...`), within 5 minutes. The
 * event is `stripe.<type>` (`stripe.payment_intent.succeeded`), the delivery id the event's `id`.
 * Stripe makes the secret: give it with `POST /connections/{id}/webhook-secret { secret }`.
 */
@Injectable()
@Provider({
  key: 'stripe',
  title: 'Stripe webhooks',
  kinds: ['payments'],
  configSchema: INBOUND_ONLY_CONFIG_SCHEMA,
  credentialTypes: ['none'],
  capabilities: ['webhooks'],
})
export class StripeProvider implements ConnectionProvider {
  verifyWebhook(request: InboundWebhook, { secrets, now }: WebhookVerifyContext): VerifiedWebhook {
    const header = request.headers['stripe-signature'];
    if (!header) throw new WebhookRefused('Stripe-Signature is missing');
    const parts = header.split(',').map((part) => part.trim().split('='));
    const timestamp = parts.find(([key]) => key === 't')?.[1];
    // Hex digits mean the same in either case.
    const given = parts.filter(([key]) => key === 'v1').map(([, value]) => (value ?? '').toLowerCase());
    if (timestamp === undefined || given.length === 0)
      throw new WebhookRefused('Stripe-Signature needs t= and at least one v1=');
    assertFresh(timestamp, now, TOLERANCE_SECONDS);
    const content = Buffer.concat([Buffer.from(`${timestamp}.`), request.rawBody]);
    const expected = secrets.map((secret) => hmac('sha256', secret, content, 'hex'));
    if (!anySignatureMatches(given, expected))
      throw new WebhookRefused('no v1 signature in Stripe-Signature matches the body');
    const payload = readPayload(request) as { id?: unknown; type?: unknown } | null;
    const type = typeof payload?.type === 'string' ? payload.type.toLowerCase() : 'unknown';
    const id = typeof payload?.id === 'string' ? payload.id : null;
    return { kind: 'event', name: `stripe.${type}`, deliveryId: id, data: payload };
  }
}
