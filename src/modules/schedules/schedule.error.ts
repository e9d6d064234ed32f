import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const SCHEDULE_ERROR_KINDS = {
  SCHEDULE_NOT_FOUND: 'not_found',
  INVALID_SCHEDULE: 'refused',
  SCHEDULE_NAME_TAKEN: 'conflict',
  SCHEDULE_BUILT_IN: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type ScheduleErrorCode = keyof typeof SCHEDULE_ERROR_KINDS;

export class ScheduleError extends DomainError {
  constructor(code: ScheduleErrorCode, message: string, details?: unknown) {
    super(code, SCHEDULE_ERROR_KINDS[code], message, details);
  }
}
