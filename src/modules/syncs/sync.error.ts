import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const SYNC_ERROR_KINDS = {
  SYNC_NOT_FOUND: 'not_found',
  SYNC_RUN_NOT_FOUND: 'not_found',
  RECORD_NOT_FOUND: 'not_found',
  COPY_NOT_FOUND: 'not_found',
  ACCOUNT_NOT_FOUND: 'not_found',
  NOT_YOUR_ACCOUNT: 'forbidden',
  INVALID_SYNC: 'refused',
  SYNC_RUNNING: 'conflict',
  SYNC_RUN_FINISHED: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type SyncErrorCode = keyof typeof SYNC_ERROR_KINDS;

export class SyncError extends DomainError {
  constructor(code: SyncErrorCode, message: string, details?: unknown) {
    super(code, SYNC_ERROR_KINDS[code], message, details);
  }
}
