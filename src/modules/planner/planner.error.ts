import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const PLANNER_ERROR_KINDS = {
  OPERATION_NOT_FOUND: 'not_found',
  INVALID_OPERATION: 'refused',
  GOODS_RESERVED: 'conflict',
  GOODS_GONE: 'conflict',
  CLAIM_LOST: 'conflict',
  OPERATION_NOT_PLANNED: 'conflict',
  OPERATION_NOT_READY: 'conflict',
  OPERATION_CANCELLED: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type PlannerErrorCode = keyof typeof PLANNER_ERROR_KINDS;

export class PlannerError extends DomainError {
  constructor(code: PlannerErrorCode, message: string, details?: unknown) {
    super(code, PLANNER_ERROR_KINDS[code], message, details);
  }
}
