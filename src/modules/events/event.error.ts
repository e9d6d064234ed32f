import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const EVENT_ERROR_KINDS = {
  EVENT_NOT_FOUND: 'not_found',
  EVENT_TYPE_NOT_FOUND: 'not_found',
  ROUTE_NOT_FOUND: 'not_found',
  INVALID_EVENT: 'invalid',
  INVALID_EVENT_NAME: 'invalid',
  INVALID_EVENT_PATTERN: 'refused',
  INVALID_REPLAY: 'refused',
  EVENT_TOO_LARGE: 'refused',
  SCHEMA_MISMATCH: 'refused',
  INVALID_SCHEMA: 'refused',
  CAUSATION_TOO_DEEP: 'refused',
  INVALID_ROUTE: 'refused',
  ROUTE_NAME_TAKEN: 'conflict',
  ROUTE_READ_ONLY: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type EventErrorCode = keyof typeof EVENT_ERROR_KINDS;

export class EventError extends DomainError {
  constructor(code: EventErrorCode, message: string, details?: unknown) {
    super(code, EVENT_ERROR_KINDS[code], message, details);
  }
}

export function eventNotFound(id: string): EventError {
  return new EventError('EVENT_NOT_FOUND', `no event ${id}`);
}
