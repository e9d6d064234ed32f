import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const PROVISIONING_ERROR_KINDS = {
  FLAVOR_NOT_FOUND: 'not_found',
  SERVICE_NOT_FOUND: 'not_found',
  INVALID_FLAVOR: 'refused',
  INVALID_SERVICE: 'invalid',
  INVALID_PATCH: 'invalid',
  FLAVOR_TAKEN: 'conflict',
  FLAVOR_IN_USE: 'conflict',
  NAME_TAKEN: 'conflict',
  DOMAIN_TAKEN: 'conflict',
  NOT_PATCHABLE: 'conflict',
  NOT_PURGEABLE: 'conflict',
  LIMIT_REACHED: 'forbidden',
} as const satisfies Record<string, ErrorKind>;

export type ProvisioningErrorCode = keyof typeof PROVISIONING_ERROR_KINDS;

export class ProvisioningError extends DomainError {
  constructor(code: ProvisioningErrorCode, message: string, details?: unknown) {
    super(code, PROVISIONING_ERROR_KINDS[code], message, details);
  }
}
