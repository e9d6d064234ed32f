import { DomainError } from '../../../common/errors/domain-error.js';
import type { ErrorKind } from '../../../common/errors/domain-error.js';

const WEBHOOK_ERROR_KINDS = {
  WEBHOOK_NOT_FOUND: 'not_found',
  WEBHOOK_SIGNATURE_INVALID: 'unauthenticated',
  WEBHOOK_BODY_UNREADABLE: 'invalid',
  WEBHOOK_CONNECTION_PAUSED: 'conflict',
  WEBHOOK_RATE_LIMITED: 'rate_limited',
} as const satisfies Record<string, ErrorKind>;

export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_KINDS;

/** Why an inbound webhook was not taken. */
export class WebhookError extends DomainError {
  constructor(code: WebhookErrorCode, message: string, details?: unknown) {
    super(code, WEBHOOK_ERROR_KINDS[code], message, details);
  }
}
