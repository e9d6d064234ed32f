import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const PROJECT_ERROR_KINDS = {
  PROJECT_NOT_FOUND: 'not_found',
  MEMBER_NOT_FOUND: 'not_found',
  TOKEN_NOT_FOUND: 'not_found',
  INVITATION_NOT_FOUND: 'not_found',
  SETTINGS_NOT_FOUND: 'not_found',
  RECORD_NOT_FOUND: 'not_found',
  INVALID_FIELDS: 'invalid',
  INVALID_PROVIDER_SETTINGS: 'refused',
  NOT_A_MANAGER: 'forbidden',
  INVITATION_NOT_YOURS: 'forbidden',
  SLUG_TAKEN: 'conflict',
  ALREADY_A_MEMBER: 'conflict',
  LAST_MANAGER: 'conflict',
  INVITATION_USED: 'conflict',
  INVITATION_EXPIRED: 'conflict',
  NOTHING_TO_SYNC: 'conflict',
} as const satisfies Record<string, ErrorKind>;

export type ProjectErrorCode = keyof typeof PROJECT_ERROR_KINDS;

export class ProjectError extends DomainError {
  constructor(code: ProjectErrorCode, message: string, details?: unknown) {
    super(code, PROJECT_ERROR_KINDS[code], message, details);
  }
}
