import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider } from '../provider.decorator.js';
import { eventNameFrom, eventNameProblems, INBOUND_RATE_LIMIT_SCHEMA } from '../webhooks/webhook-config.js';
import {
  assertFresh,
  hmac,
  readPayload,
  sameSignature,
  WebhookRefused,
} from '../webhooks/webhook-verification.js';
import type {
  HmacAlgorithm,
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from '../webhooks/webhook-verification.js';

export interface HmacConfig {
  /** The header carrying the signature, such as `X-Shop-Signature`. */
  header: string;
  algorithm?: HmacAlgorithm;
  encoding?: 'hex' | 'base64';
  /** Written before the signature in the header, such as `sha256=`. */
  prefix?: string;
  /** When set, the sender signs `<timestamp>.<body>` and the timestamp must be within `toleranceSeconds`. */
  timestampHeader?: string;
  toleranceSeconds?: number;
  /** A template over the payload (`body`) and `headers`: `shop.{{headers.x-shop-topic}}`. */
  eventName: string;
  /** The header naming the delivery, for deduplication; without one, the same bytes are the same delivery. */
  deliveryIdHeader?: string;
}

const HEADER_NAME = { type: 'string', pattern: '^[A-Za-z0-9-]{1,100}$' };

/** Any sender that signs with an HMAC of the body (and maybe a timestamp), configured instead of coded. */
@Injectable()
@Provider({
  key: 'hmac',
  title: 'Any HMAC-signed webhook',
  kinds: ['webhooks'],
  configSchema: {
    type: 'object',
    required: ['header', 'eventName'],
    additionalProperties: false,
    properties: {
      header: HEADER_NAME,
      algorithm: { enum: ['sha1', 'sha256', 'sha512'], default: 'sha256' },
      encoding: { enum: ['hex', 'base64'], default: 'hex' },
      prefix: { type: 'string', maxLength: 50, default: '' },
      timestampHeader: HEADER_NAME,
      toleranceSeconds: { type: 'integer', minimum: 1, maximum: 86_400, default: 300 },
      eventName: { type: 'string', minLength: 1, maxLength: 200 },
      deliveryIdHeader: HEADER_NAME,
      inboundRateLimit: INBOUND_RATE_LIMIT_SCHEMA,
    },
  },
  credentialTypes: ['none'],
  capabilities: ['webhooks'],
})
export class HmacProvider implements ConnectionProvider {
  validate(config: Record<string, unknown>): SchemaViolation[] {
    return eventNameProblems(config);
  }

  verifyWebhook(request: InboundWebhook, context: WebhookVerifyContext): VerifiedWebhook {
    const config = context.config as unknown as HmacConfig;
    const signature = request.headers[config.header.toLowerCase()];
    if (!signature) throw new WebhookRefused(`${config.header} is missing`);
    let content = request.rawBody;
    if (config.timestampHeader) {
      const timestamp = request.headers[config.timestampHeader.toLowerCase()];
      assertFresh(timestamp, context.now, config.toleranceSeconds ?? 300);
      content = Buffer.concat([Buffer.from(`${timestamp}.`), request.rawBody]);
    }
    const { algorithm = 'sha256', encoding = 'hex', prefix = '' } = config;
    // The prefix names an algorithm (`sha256=`), which senders write in either case, as GitHub's
    // verifier takes it.
    if (signature.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase())
      throw new WebhookRefused(`${config.header} does not start with ${prefix}`);
    // Hex digits mean the same in either case (senders differ); base64's case is part of its value.
    const value = signature.slice(prefix.length);
    const given = encoding === 'hex' ? value.toLowerCase() : value;
    const signed = context.secrets.some((secret) =>
      sameSignature(given, hmac(algorithm, secret, content, encoding)),
    );
    if (!signed) throw new WebhookRefused(`${config.header} does not match the body`);
    const payload = readPayload(request);
    const deliveryId = config.deliveryIdHeader
      ? (request.headers[config.deliveryIdHeader.toLowerCase()] ?? null)
      : null;
    return {
      kind: 'event',
      name: eventNameFrom(config.eventName, request, payload),
      deliveryId,
      data: payload,
    };
  }
}
