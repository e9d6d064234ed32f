import { DomainError } from '../../common/errors/domain-error.js';
import type { JOB_ERROR_CODES } from './jobs.contract.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const JOB_ERROR_KINDS = {
  JOB_NOT_FOUND: 'not_found',
  UNKNOWN_JOB_TYPE: 'refused',
  INVALID_PAYLOAD: 'invalid',
  PAYLOAD_REFUSED: 'refused',
  INVALID_JOB_OPTIONS: 'invalid',
  JOB_NOT_RETRYABLE: 'conflict',
  JOB_NOT_CANCELLABLE: 'conflict',
} as const satisfies Record<keyof typeof JOB_ERROR_CODES, ErrorKind>;

export type JobErrorCode = keyof typeof JOB_ERROR_KINDS;

export class JobError extends DomainError {
  constructor(code: JobErrorCode, message: string, details?: unknown) {
    super(code, JOB_ERROR_KINDS[code], message, details);
  }
}
