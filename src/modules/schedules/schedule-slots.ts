import { CronTime } from 'cron';
import type { ScheduleCatchUp } from './schedule.entity.js';

/** One invalid field of a schedule, the shape of INVALID_SCHEDULE's details. */
export interface FieldProblem {
  field: string;
  problems: string[];
}

/** An IANA zone name: `UTC`, `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `Etc/GMT+3`. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** `@every 90s|15m|2h|1d`: a fixed interval instead of cron fields. */
const EVERY = /^@every\s+([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_EVERY_MS = 366 * 86_400_000;

/**
 * The interval of an `@every <n><s|m|h|d>` expression in milliseconds, or null when `cron` is not
 * one. Its slots are whole multiples of the interval since the Unix epoch, so every process agrees.
 */
export function everyMs(cron: string): number | null {
  const match = EVERY.exec(cron.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : null;
}

/**
 * Why a cron expression is refused; empty when it is fine. Needs 5 fields, or 6 with seconds
 * first, or `@every <n><s|m|h|d>` (at most 366 days).
 */
export function cronProblems(cron: string, timezone = 'UTC'): string[] {
  if (cron.trim().startsWith('@every')) {
    const every = everyMs(cron);
    if (every === null) return [`"${cron.trim()}" is not an interval such as "@every 15m" (s, m, h or d)`];
    return every > MAX_EVERY_MS ? ['an interval may be at most 366 days'] : [];
  }
  const fields = cron.trim().split(/\s+/).length;
  if (cron.trim() === '' || fields < 5 || fields > 6)
    return [`cron must have 5 fields (minute first) or 6 (second first), got ${cron.trim() ? fields : 0}`];
  let time: CronTime;
  try {
    time = new CronTime(cron, timezone);
  } catch (error) {
    return [`cron does not parse: ${(error as Error).message}`];
  }
  try {
    time.getNextDateFrom(new Date(), timezone);
  } catch {
    return ['cron never fires (no matching time in the next 8 years)'];
  }
  return [];
}

/** Why a time zone is refused; empty when it is an IANA zone that Intl and cron both know. */
export function timezoneProblems(timezone: string): string[] {
  const refused = [`timezone must be an IANA time zone such as "Europe/Berlin" or "UTC", got "${timezone}"`];
  if (!ZONE_NAME.test(timezone)) return refused;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    new CronTime('* * * * *', timezone);
  } catch {
    return refused;
  }
  return [];
}

/** The zone's canonical spelling (`europe/berlin` -> `Europe/Berlin`); call after timezoneProblems. */
export function canonicalTimezone(timezone: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
}

/**
 * Spans tried, smallest first, when looking back for the latest slot, so a frequent schedule that
 * was down for long is not walked slot by slot.
 */
const LOOK_BACK_MS = [
  10_000,
  60_000,
  600_000,
  3_600_000,
  21_600_000,
  86_400_000,
  7 * 86_400_000,
  32 * 86_400_000,
  366 * 86_400_000,
];

/**
 * The firing times (slots) of a cron expression in a time zone, or of an `@every` interval: whole
 * seconds, the same in every process.
 */
export class CronSlots {
  private readonly time: CronTime | null;
  private readonly every: number | null;

  constructor(
    cron: string,
    private readonly timezone: string,
  ) {
    this.every = everyMs(cron);
    this.time = this.every === null ? new CronTime(cron, timezone) : null;
  }

  /** The first slot strictly after `after`. */
  nextAfter(after: Date): Date {
    if (this.every !== null) return new Date((Math.floor(after.getTime() / this.every) + 1) * this.every);
    return this.time!.getNextDateFrom(after, this.timezone).toJSDate();
  }

  /** The latest slot in [from, until], or null when there is none. */
  latestBetween(from: Date, until: Date): Date | null {
    if (from > until) return null;
    if (this.every !== null) {
      const latest = Math.floor(until.getTime() / this.every) * this.every;
      return latest >= from.getTime() ? new Date(latest) : null;
    }
    const earliest = from.getTime() - 1;
    for (const span of [...LOOK_BACK_MS, Infinity]) {
      const start = Math.max(earliest, until.getTime() - span);
      let slot = this.nextAfter(new Date(start));
      if (slot > until) {
        if (start === earliest) return null;
        continue;
      }
      for (let next = this.nextAfter(slot); next <= until; next = this.nextAfter(slot)) slot = next;
      return slot;
    }
    return null;
  }
}

export interface FiringDecision {
  /** The slot to enqueue a job for, or null when none is due or the missed ones are skipped. */
  slot: Date | null;
  /** The latest due slot lies further back than the tolerance: firings were missed while down. */
  missed: boolean;
  /** The schedule's next nextFireAt: the first slot after `now`. */
  next: Date;
}

/**
 * What a scheduler does at `now` for a schedule whose nextFireAt has come: at most one job, for
 * the latest due slot. A slot within `toleranceMs` of now is simply due and always fires; one
 * further back was missed (no scheduler ran), and fires only with catchUp `once`.
 */
export function decideFiring(
  slots: CronSlots,
  nextFireAt: Date,
  catchUp: ScheduleCatchUp,
  now: Date,
  toleranceMs: number,
): FiringDecision {
  const next = slots.nextAfter(now);
  const latest = slots.latestBetween(nextFireAt, now);
  if (latest === null) return { slot: null, missed: false, next };
  const missed = latest.getTime() < now.getTime() - toleranceMs;
  return { slot: missed && catchUp === 'skip' ? null : latest, missed, next };
}

/** The idempotency key of the job for one slot: two processes firing the same slot make one job. */
export function slotKey(scheduleId: string, slot: Date): string {
  return `schedule:${scheduleId}:${slot.toISOString()}`;
}

/** The idempotency key of a manual trigger, distinct from every slot's. */
export function manualKey(scheduleId: string, at: Date): string {
  return `schedule:${scheduleId}:manual:${at.toISOString()}`;
}
