import {
  CronSlots,
  canonicalTimezone,
  cronProblems,
  decideFiring,
  slotKey,
  timezoneProblems,
} from './schedule-slots.js';

const at = (iso: string) => new Date(iso);

describe('cronProblems', () => {
  it('accepts 5 and 6 fields', () => {
    expect(cronProblems('0 3 * * *')).toEqual([]);
    expect(cronProblems('*/5 * * * * *')).toEqual([]);
    expect(cronProblems('0 9 * * mon-fri', 'Europe/Berlin')).toEqual([]);
  });

  it('refuses too few or too many fields, presets and empty text', () => {
    for (const cron of ['* * * *', '0 0 0 * * * *', '@daily', '', '   '])
      expect(cronProblems(cron)).toEqual([expect.stringContaining('5 fields')]);
  });

  it('refuses fields that do not parse or are out of range', () => {
    expect(cronProblems('61 * * * *')).toEqual([expect.stringContaining('does not parse')]);
    expect(cronProblems('x * * * *')).toEqual([expect.stringContaining('does not parse')]);
    expect(cronProblems('*/0 * * * *')).toEqual([expect.stringContaining('does not parse')]);
  });

  it('accepts @every intervals up to 366 days and refuses others', () => {
    for (const every of ['@every 30s', '@every 15m', '@every 2h', '@every 366d'])
      expect(cronProblems(every)).toEqual([]);
    for (const every of ['@every', '@every 0m', '@every 5w', '@every -1h', '@every 1.5h'])
      expect(cronProblems(every)).toEqual([expect.stringContaining('not an interval')]);
    expect(cronProblems('@every 367d')).toEqual(['an interval may be at most 366 days']);
  });

  it('refuses a cron that never fires', () => {
    expect(cronProblems('0 0 30 2 *')).toEqual([expect.stringContaining('never fires')]);
  });
});

describe('timezoneProblems', () => {
  it('accepts IANA zones and canonicalises their spelling', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+3'])
      expect(timezoneProblems(zone)).toEqual([]);
    expect(canonicalTimezone('europe/berlin')).toBe('Europe/Berlin');
  });

  it('refuses unknown zones, offsets and local', () => {
    for (const zone of ['Mars/Base', '+01:00', 'UTC+3', 'local', '', 'Europe/../Berlin'])
      expect(timezoneProblems(zone)).toEqual([expect.stringContaining('IANA')]);
  });
});

describe('CronSlots', () => {
  it('gives the next slot strictly after a time, in the zone', () => {
    const slots = new CronSlots('0 10 * * *', 'Europe/Berlin');
    expect(slots.nextAfter(at('2030-01-01T08:59:59.999Z'))).toEqual(at('2030-01-01T09:00:00Z'));
    expect(slots.nextAfter(at('2030-01-01T09:00:00Z'))).toEqual(at('2030-01-02T09:00:00Z'));
    // Summer time: 10:00 in Berlin is 08:00 UTC.
    expect(slots.nextAfter(at('2030-07-01T00:00:00Z'))).toEqual(at('2030-07-01T08:00:00Z'));
  });

  it('gives whole seconds for a 6-field cron', () => {
    const slots = new CronSlots('* * * * * *', 'UTC');
    expect(slots.nextAfter(at('2030-01-01T00:00:00.400Z'))).toEqual(at('2030-01-01T00:00:01Z'));
  });

  it('finds the latest slot in a range, or none', () => {
    const hourly = new CronSlots('0 * * * *', 'UTC');
    expect(hourly.latestBetween(at('2030-01-01T10:00:00Z'), at('2030-01-01T13:30:00Z'))).toEqual(
      at('2030-01-01T13:00:00Z'),
    );
    expect(hourly.latestBetween(at('2030-01-01T10:00:00Z'), at('2030-01-01T10:00:00Z'))).toEqual(
      at('2030-01-01T10:00:00Z'),
    );
    expect(hourly.latestBetween(at('2030-01-01T10:00:01Z'), at('2030-01-01T10:59:59Z'))).toBeNull();
    expect(hourly.latestBetween(at('2030-01-01T11:00:00Z'), at('2030-01-01T10:00:00Z'))).toBeNull();
  });

  it('spaces @every slots from the Unix epoch, whatever the zone', () => {
    const every90m = new CronSlots('@every 90m', 'Europe/Berlin');
    expect(every90m.nextAfter(at('2030-01-01T00:00:00Z'))).toEqual(at('2030-01-01T01:30:00Z'));
    expect(every90m.nextAfter(at('2030-01-01T01:30:00Z'))).toEqual(at('2030-01-01T03:00:00Z'));
    expect(every90m.latestBetween(at('2030-01-01T00:00:00Z'), at('2030-01-01T04:00:00Z'))).toEqual(
      at('2030-01-01T03:00:00Z'),
    );
    expect(every90m.latestBetween(at('2030-01-01T03:00:01Z'), at('2030-01-01T04:29:59Z'))).toBeNull();
  });

  it('looks far back without walking every slot', () => {
    const everySecond = new CronSlots('* * * * * *', 'UTC');
    const started = Date.now();
    expect(everySecond.latestBetween(at('2029-01-01T00:00:00Z'), at('2030-01-01T00:00:00.500Z'))).toEqual(
      at('2030-01-01T00:00:00Z'),
    );
    const yearly = new CronSlots('0 0 1 1 *', 'UTC');
    expect(yearly.latestBetween(at('2027-01-01T00:00:00Z'), at('2029-06-01T00:00:00Z'))).toEqual(
      at('2029-01-01T00:00:00Z'),
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('decideFiring', () => {
  const hourly = new CronSlots('0 * * * *', 'UTC');
  const tolerance = 6000;

  it('fires a slot that is due now, whatever catchUp says', () => {
    for (const catchUp of ['skip', 'once'] as const) {
      expect(
        decideFiring(hourly, at('2030-01-01T10:00:00Z'), catchUp, at('2030-01-01T10:00:00.020Z'), tolerance),
      ).toEqual({ slot: at('2030-01-01T10:00:00Z'), missed: false, next: at('2030-01-01T11:00:00Z') });
    }
  });

  it('fires the current slot once when earlier ones were missed', () => {
    expect(
      decideFiring(hourly, at('2030-01-01T07:00:00Z'), 'skip', at('2030-01-01T10:00:01Z'), tolerance),
    ).toEqual({ slot: at('2030-01-01T10:00:00Z'), missed: false, next: at('2030-01-01T11:00:00Z') });
  });

  it('fires once for the latest missed slot with catchUp once', () => {
    expect(
      decideFiring(hourly, at('2030-01-01T07:00:00Z'), 'once', at('2030-01-01T10:30:00Z'), tolerance),
    ).toEqual({ slot: at('2030-01-01T10:00:00Z'), missed: true, next: at('2030-01-01T11:00:00Z') });
  });

  it('fires nothing for missed slots with catchUp skip, and moves on', () => {
    expect(
      decideFiring(hourly, at('2030-01-01T07:00:00Z'), 'skip', at('2030-01-01T10:30:00Z'), tolerance),
    ).toEqual({ slot: null, missed: true, next: at('2030-01-01T11:00:00Z') });
  });
});

describe('slotKey', () => {
  it('names the schedule and the slot', () => {
    expect(slotKey('s1', at('2030-01-01T10:00:00Z'))).toBe('schedule:s1:2030-01-01T10:00:00.000Z');
  });
});
