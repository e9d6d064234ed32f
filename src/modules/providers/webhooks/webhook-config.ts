import type { SchemaViolation } from '../../../common/json-schema.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';
import { renderText, templateProblems } from '../../../common/template.js';
import type { InboundWebhook } from './webhook-verification.js';

/** The part of a webhook provider's config schema every one of them has: its inbound limit. */
export const INBOUND_RATE_LIMIT_SCHEMA = {
  ...RATE_LIMIT_SCHEMA,
  description: 'Webhooks this connection takes in; 100 per 1000 ms unless set',
};

/** An event name from a `{{body.x}}` / `{{headers.x-y}}` template, lowercase. */
export function eventNameFrom(template: string, request: InboundWebhook, body: unknown): string {
  return (renderText(template, { body, headers: request.headers }) ?? '').toLowerCase();
}

/** The config schema of a verifier that needs nothing but its secret: the inbound limit alone. */
export const INBOUND_ONLY_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { inboundRateLimit: INBOUND_RATE_LIMIT_SCHEMA },
};

/** An `eventName` template may read only `body` and `headers`. */
export function eventNameProblems(config: Record<string, unknown>): SchemaViolation[] {
  return templateProblems(config.eventName, ['body', 'headers']).map((message) => ({
    path: '/config/eventName',
    message,
  }));
}
