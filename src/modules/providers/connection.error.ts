import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const CONNECTION_ERROR_KINDS = {
  PROVIDER_NOT_FOUND: 'not_found',
  CONNECTION_NOT_FOUND: 'not_found',
  INVALID_CONNECTION: 'refused',
  CONNECTION_NAME_TAKEN: 'conflict',
  NOT_YOUR_ACCOUNT: 'forbidden',
  NO_WEBHOOKS: 'conflict',
  OAUTH_NOT_SUPPORTED: 'refused',
  OAUTH_NOT_CONFIGURED: 'refused',
  OAUTH_STATE_INVALID: 'invalid',
  OAUTH_DENIED: 'invalid',
  OAUTH_EXCHANGE_FAILED: 'refused',
} as const satisfies Record<string, ErrorKind>;

export type ConnectionErrorCode = keyof typeof CONNECTION_ERROR_KINDS;

export class ConnectionError extends DomainError {
  constructor(code: ConnectionErrorCode, message: string, details?: unknown) {
    super(code, CONNECTION_ERROR_KINDS[code], message, details);
  }
}
