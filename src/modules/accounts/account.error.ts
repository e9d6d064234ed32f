import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const ACCOUNT_ERROR_KINDS = {
  ACCOUNT_NOT_FOUND: 'not_found',
  API_KEY_NOT_FOUND: 'not_found',
  EMAIL_TAKEN: 'conflict',
  LAST_ADMIN: 'refused',
  EXPIRY_IN_PAST: 'invalid',
  NOT_YOUR_ACCOUNT: 'forbidden',
} as const satisfies Record<string, ErrorKind>;

export type AccountErrorCode = keyof typeof ACCOUNT_ERROR_KINDS;

export class AccountError extends DomainError {
  constructor(code: AccountErrorCode, message: string) {
    super(code, ACCOUNT_ERROR_KINDS[code], message);
  }
}
