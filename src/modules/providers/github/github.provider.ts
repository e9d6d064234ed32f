import { Injectable } from '@nestjs/common';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import { INBOUND_ONLY_CONFIG_SCHEMA } from '../webhooks/webhook-config.js';
import {
  hmac,
  readPayload,
  sameSignature,
  WebhookRefused,
  WebhookUnreadable,
} from '../webhooks/webhook-verification.js';
import type {
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from '../webhooks/webhook-verification.js';

/**
 * GitHub's webhooks: `X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the body with
 * the secret; the event is `github.<X-GitHub-Event>[.<action>]` (`github.push`,
 * `github.pull_request.opened`), the delivery id `X-GitHub-Delivery`. A `ping` is acknowledged and
 * not stored. GitHub's form-encoded option (`payload=<json>`) is read too.
 */
@Injectable()
@Provider({
  key: 'github',
  title: 'GitHub webhooks',
  kinds: ['source-code'],
  configSchema: INBOUND_ONLY_CONFIG_SCHEMA,
  credentialTypes: ['none'],
  capabilities: ['webhooks'],
})
export class GithubProvider implements ConnectionProvider {
  verifyWebhook(request: InboundWebhook, { secrets }: WebhookVerifyContext): VerifiedWebhook {
    const signature = request.headers['x-hub-signature-256'];
    if (!signature) throw new WebhookRefused('X-Hub-Signature-256 is missing');
    const signed = secrets.some((secret) =>
      sameSignature(signature.toLowerCase(), `sha256=${hmac('sha256', secret, request.rawBody, 'hex')}`),
    );
    if (!signed) throw new WebhookRefused('X-Hub-Signature-256 does not match the body');
    const event = request.headers['x-github-event'];
    if (!event) throw new WebhookUnreadable('X-GitHub-Event is missing');
    if (event === 'ping') return { kind: 'ignored', reason: 'ping' };
    const payload = readPayload(request);
    const action = (payload as { action?: unknown } | null)?.action;
    const name = ['github', event, ...(typeof action === 'string' ? [action] : [])]
      .map((part) => part.toLowerCase().replace(/[^a-z0-9_-]/g, '_'))
      .join('.');
    return { kind: 'event', name, deliveryId: request.headers['x-github-delivery'] ?? null, data: payload };
  }
}
