import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './db-errors.js';

const failed = (code: string) =>
  new QueryFailedError('INSERT INTO event ...', [], Object.assign(new Error(code), { code }));

describe('isDatabaseUnavailable', () => {
  it.each([
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_LOCKED',
    'SQLITE_IOERR_WRITE',
    '08006',
    '57P01',
    '53300',
    '40P01',
  ])('is true for %s, a database that cannot take the statement now', (code) => {
    expect(isDatabaseUnavailable(failed(code))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: failed(code) }))).toBe(true);
  });

  it.each(['SQLITE_CONSTRAINT_UNIQUE', '23505', '22P02', '42P01', 'ECONNREFUSED'])(
    'is false for %s, a statement the database refused or no database code',
    (code) => {
      expect(isDatabaseUnavailable(failed(code))).toBe(false);
    },
  );

  it('is false for what is not an error', () => {
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('SQLITE_BUSY')).toBe(false);
  });
});
