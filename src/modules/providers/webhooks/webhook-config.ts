import type { SchemaViolation } from '../../../common/json-schema.js';
import { RATE_LIMIT_SCHEMA } from '../config-schemas.js';
import { renderText, templateProblems } from '../../../common/template.js';
import { EVENT_NAME_MAX_LENGTH } from '../../events/events.contract.js';
import type { InboundWebhook } from './webhook-verification.js';

/** The part of a webhook provider's config schema every one of them has: its inbound limit. */
export const INBOUND_RATE_LIMIT_SCHEMA = {
  ...RATE_LIMIT_SCHEMA,
  description: 'Webhooks this connection takes in; 100 per 1000 ms unless set',
};

/** An event name from a `{{body.x}}` / `{{headers.x-y}}` template, lowercase; see `webhookEventName`. */
export function eventNameFrom(template: string, request: InboundWebhook, body: unknown): string {
  return (renderText(template, { body, headers: request.headers }) ?? '').toLowerCase();
}

/**
 * One segment of an event name from what a sender wrote (a header, a payload's `type`): lowercase
 * letters, digits, `_` and `-`, any other character written `_`, starting with a letter or digit;
 * `unknown` when nothing is left.
 */
export function eventNameSegment(text: string): string {
  const segment = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .replace(/^[_-]+/, '');
  return segment === '' ? 'unknown' : segment;
}

/**
 * The name a verified delivery is stored under: each dot-separated segment made one an event may
 * have (`shop.orders/create` -> `shop.orders_create`, `shop.` -> `shop.unknown`), at most 200
 * characters. Refusing a delivery whose sender names it oddly would lose it: the sender would get
 * the same answer at each of its retries. A name that fits already is kept as it is.
 */
export function webhookEventName(name: string): string {
  const fit = name.split('.').map(eventNameSegment).join('.');
  return fit.length <= EVENT_NAME_MAX_LENGTH ? fit : fit.slice(0, EVENT_NAME_MAX_LENGTH).replace(/\.+$/, '');
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
