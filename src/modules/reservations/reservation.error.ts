import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const RESERVATION_ERROR_KINDS = {
  GOODS_TYPE_NOT_FOUND: 'not_found',
  LOCATION_NOT_FOUND: 'not_found',
  GOODS_NOT_FOUND: 'not_found',
  REQUEST_NOT_FOUND: 'not_found',
  UNKNOWN_GOODS_TYPE: 'refused',
  UNKNOWN_LOCATION: 'refused',
  INVALID_PURPOSE: 'refused',
  INVALID_ORDER: 'refused',
  GOODS_TYPE_CODE_TAKEN: 'conflict',
  LOCATION_CODE_TAKEN: 'conflict',
  REQUEST_FINISHED: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type ReservationErrorCode = keyof typeof RESERVATION_ERROR_KINDS;

export class ReservationError extends DomainError {
  constructor(code: ReservationErrorCode, message: string, details?: unknown) {
    super(code, RESERVATION_ERROR_KINDS[code], message, details);
  }
}
