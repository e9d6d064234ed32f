import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy } from 'class-validator';
import type { ValidationOptions } from 'class-validator';

/**
 * A date and a time with a time zone: `2026-11-24T10:00:00Z`, `2026-11-24T11:00:00.250+01:00`.
 * A bare date, a time without a zone (read as local time by `new Date`), a number (`from=1` would be
 * the year 2001) and other forms `Date` happens to accept are refused.
 */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;

/** Whether `text` is an ISO 8601 time with a zone that names a real instant (no 30 February, no 25:00). */
export function isIsoTime(text: string): boolean {
  const match = ISO_TIME.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second = '0', zoneHour = '0', zoneMinute = '0'] = match.slice(1);
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  return (
    Number(month) >= 1 &&
    Number(month) <= 12 &&
    Number(day) >= 1 &&
    Number(day) <= daysInMonth &&
    Number(hour) <= 23 &&
    Number(minute) <= 59 &&
    Number(second) <= 59 &&
    Number(zoneHour) <= 23 &&
    Number(zoneMinute) <= 59 &&
    isWithinFourDigitYears(Date.parse(text))
  );
}

// The first instant of the year 1 and of the year 10000.
const EARLIEST_MS = new Date('0001-01-01T00:00:00Z').getTime();
const LATEST_MS = new Date('+010000-01-01T00:00:00Z').getTime();

/**
 * Whether the instant, its offset applied, still has a four-digit year: `9999-12-31T23:59:59-23:59`
 * is in the year 10000, which SQLite would store as `+010000-…` text that sorts before every other
 * time (a job due then would run at once).
 */
function isWithinFourDigitYears(ms: number): boolean {
  return ms >= EARLIEST_MS && ms < LATEST_MS;
}

/**
 * The one way a request names a time. Accepts only an ISO 8601 date and time with a time zone (or
 * `Z`), turns it into a `Date`, and otherwise fails validation with a 400 that names the field.
 * Declare the property as `Date`; the controller receives a Date and converts nothing.
 */
export function IsoTime(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && isIsoTime(value) ? new Date(value) : value,
    ),
    ValidateBy(
      {
        name: 'isoTime',
        validator: {
          validate: (value: unknown): boolean => value instanceof Date && !Number.isNaN(value.getTime()),
          defaultMessage: (args): string =>
            `${args?.property ?? 'value'} must be an ISO 8601 time with a time zone, such as 2026-11-24T10:00:00Z`,
        },
      },
      options,
    ),
  );
}
