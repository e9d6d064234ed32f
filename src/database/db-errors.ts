import { QueryFailedError } from 'typeorm';

/** A write refused by a unique index, on PostgreSQL (23505) or SQLite. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const { code } = error.driverError as { code?: string };
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A write naming a row that is not there (or removing one still named), on PostgreSQL (23503) or SQLite. */
export function isForeignKeyViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const { code } = error.driverError as { code?: string };
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * SQLite's codes of a database another writer holds or that cannot be written now, and
 * PostgreSQL's classes and states of a server that is unreachable, shutting down, out of
 * resources, or that aborted a transaction to be run again.
 */
const UNAVAILABLE_CODES = /^(SQLITE_(BUSY|LOCKED|IOERR|FULL)|08|53|57P0[1-3]|40001$|40P01$)/;

/**
 * Whether a database error says the database cannot take the statement now rather than that the
 * statement is wrong: the same statement may well succeed later. Looks through TypeORM's wrapper
 * and `cause`s.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let seen = error, depth = 0; typeof seen === 'object' && seen !== null && depth < 5; depth++) {
    const { code, driverError, cause } = seen as { code?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) return true;
    seen = driverError ?? cause;
  }
  return false;
}
