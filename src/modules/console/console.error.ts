import { DomainError } from '../../common/errors/domain-error.js';
import type { ErrorKind } from '../../common/errors/domain-error.js';

const CONSOLE_ERROR_KINDS = {
  UNKNOWN_TOPIC: 'invalid',
  TOPIC_FORBIDDEN: 'forbidden',
} as const satisfies Record<string, ErrorKind>;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERROR_KINDS;

export class ConsoleError extends DomainError {
  constructor(code: ConsoleErrorCode, message: string) {
    super(code, CONSOLE_ERROR_KINDS[code], message);
  }
}
