import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
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
/**
 * What a project tells the GitHub provider: the connection to use, the repositories it follows
 * (`owner/name`), and branch patterns that give a branch its parent and, by a `feature` group, its
 * feature: `{ "pattern": "^feature/(?<feature>[A-Z]+-[0-9]+)", "parent": "develop" }`.
 */
const GITHUB_PROJECT_SETTINGS_SCHEMA = {
  type: 'object',
  required: ['connectionId', 'repositories'],
  additionalProperties: false,
  properties: {
    connectionId: { type: 'string', format: 'uuid' },
    repositories: {
      type: 'array',
      maxItems: 200,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$', maxLength: 200 },
    },
    branches: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['pattern'],
        additionalProperties: false,
        properties: {
          pattern: { type: 'string', minLength: 1, maxLength: 500 },
          parent: { type: 'string', minLength: 1, maxLength: 250 },
        },
      },
    },
  },
};

@Injectable()
@Provider({
  key: 'github',
  title: 'GitHub webhooks',
  kinds: ['source-code'],
  configSchema: INBOUND_ONLY_CONFIG_SCHEMA,
  credentialTypes: ['none'],
  capabilities: ['webhooks'],
  projectSettingsSchema: GITHUB_PROJECT_SETTINGS_SCHEMA,
})
export class GithubProvider implements ConnectionProvider {
  /** Each branch pattern must be a regular expression; its `feature` group, if any, names the feature. */
  validateProjectSettings(settings: Record<string, unknown>): SchemaViolation[] {
    const branches = (settings.branches ?? []) as { pattern: string }[];
    return branches.flatMap(({ pattern }, index) => {
      try {
        new RegExp(pattern);
        return [];
      } catch (error) {
        return [{ path: `/settings/branches/${index}/pattern`, message: (error as Error).message }];
      }
    });
  }

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
