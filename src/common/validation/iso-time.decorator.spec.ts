import { plainToInstance } from 'class-transformer';
import { IsOptional, validateSync } from 'class-validator';
import { IsoTime, isIsoTime } from './iso-time.decorator.js';

class Query {
  @IsOptional()
  @IsoTime()
  from?: Date;
}

function read(from: unknown): { value: unknown; errors: string[] } {
  const query = plainToInstance(Query, { from });
  const errors = validateSync(query).flatMap((error) => Object.values(error.constraints ?? {}));
  return { value: query.from, errors };
}

describe('IsoTime', () => {
  it.each([
    ['2026-11-24T10:00:00Z', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24T10:00Z', '2026-11-24T10:00:00.000Z'],
    ['2026-11-24T11:00:00.250+01:00', '2026-11-24T10:00:00.250Z'],
    ['2026-11-24T05:00:00-0500', '2026-11-24T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
    ['0001-01-01T01:00:00+01:00', '0001-01-01T00:00:00.000Z'],
  ])('turns %s into the instant %s', (text, instant) => {
    const { value, errors } = read(text);
    expect(errors).toEqual([]);
    expect((value as Date).toISOString()).toBe(instant);
  });

  it.each([
    '1',
    '12/25/2026',
    '2026-11-24',
    '2026-11-24T10:00:00',
    '2026-11-24 10:00:00Z',
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-11-24T24:00:00Z',
    '2026-11-24T10:60:00Z',
    '2026-W48-2T10:00:00Z',
    'yesterday',
    '',
    // In the year 10000 once the offset is applied, and in the year 0.
    '9999-12-31T23:59:59-23:59',
    '0000-12-31T00:00:00Z',
  ])('refuses %p, naming the field', (text) => {
    expect(isIsoTime(text)).toBe(false);
    expect(read(text).errors).toEqual([
      'from must be an ISO 8601 time with a time zone, such as 2026-11-24T10:00:00Z',
    ]);
  });

  it('refuses a number and an object', () => {
    expect(read(1).errors).toHaveLength(1);
    expect(read({ at: 'now' }).errors).toHaveLength(1);
  });
});
