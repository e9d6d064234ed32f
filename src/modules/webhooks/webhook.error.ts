import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const WEBHOOK_ERROR_KINDS = {
  ENDPOINT_NOT_FOUND: 'not_found',
  DELIVERY_NOT_FOUND: 'not_found',
  INVALID_ENDPOINT: 'refused',
  DELIVERY_PENDING: 'conflict',
  ENDPOINT_DISABLED: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_KINDS;

export class WebhookError extends DomainError {
  constructor(code: WebhookErrorCode, message: string, details?: unknown) {
    super(code, WEBHOOK_ERROR_KINDS[code], message, details);
  }
}
