import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { RETENTION_JOB_TYPE } from '../events/events.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { ScheduleRunner } from './schedule-runner.service.js';
import { canonicalTimezone, cronProblems, CronSlots, manualKey, timezoneProblems } from './schedule-slots.js';
import type { FieldProblem } from './schedule-slots.js';
import { Schedule } from './schedule.entity.js';
import type { ScheduleCatchUp, ScheduleOverlap } from './schedule.entity.js';
import { ScheduleError } from './schedule.error.js';
import { ScheduleStore } from './schedule.store.js';

/** The name of the built-in schedule that purges old events and jobs. */
export const RETENTION_SCHEDULE_NAME = 'junction.retention';

export interface NewSchedule {
  name: string;
  cron: string;
  timezone: string;
  jobType: string;
  payload?: unknown;
  enabled?: boolean;
  overlap?: ScheduleOverlap;
  catchUp?: ScheduleCatchUp;
}

export type ScheduleChanges = Partial<NewSchedule>;

export interface TriggerResult {
  jobId: string;
  idempotencyKey: string;
}

/** Schedules: validation, CRUD, manual triggers, and the built-in retention schedule. */
@Injectable()
export class SchedulesService implements OnModuleInit {
  private readonly logger = new Logger('Schedules');

  constructor(
    private readonly store: ScheduleStore,
    private readonly serializer: WriteSerializer,
    private readonly jobs: JobsService,
    private readonly runner: ScheduleRunner,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Creates the retention schedule before any scheduler starts, so the first sync finds it. */
  async onModuleInit(): Promise<void> {
    await this.ensureRetentionSchedule();
  }

  async create(input: NewSchedule): Promise<Schedule> {
    const now = this.clock.now();
    const schedule = this.fresh(input, now);
    this.checkTiming(schedule);
    await this.checkJob(schedule);
    schedule.timezone = canonicalTimezone(schedule.timezone);
    schedule.nextFireAt = this.nextFireAt(schedule, now);
    const created = await this.serializer.transaction(async (manager) => {
      await this.assertNameFree(manager, schedule.name);
      return this.saveUnique(manager, schedule);
    });
    this.runner.apply(created);
    return created;
  }

  list(page: PageQueryDto): Promise<Page<Schedule>> {
    return this.store.list(page);
  }

  async get(id: string): Promise<Schedule> {
    return this.mustFind(id);
  }

  /** The schedule of that name (another module's, made by `reconcile`), or null. */
  findByName(name: string): Promise<Schedule | null> {
    return this.store.findByName(name);
  }

  /** Changes some fields; a new cron, time zone or enabled state recomputes nextFireAt from now. */
  async update(id: string, changes: ScheduleChanges): Promise<Schedule> {
    const updated = await this.serializer.transaction(async (manager) => {
      const schedule = await this.mustFind(id, manager);
      if (schedule.builtIn) assertBuiltInChange(schedule, changes);
      const timing = { cron: schedule.cron, timezone: schedule.timezone, enabled: schedule.enabled };
      if (changes.name !== undefined && changes.name.trim() !== schedule.name) {
        schedule.name = changes.name.trim();
        await this.assertNameFree(manager, schedule.name);
      }
      if (changes.cron !== undefined) schedule.cron = changes.cron.trim();
      if (changes.timezone !== undefined) schedule.timezone = changes.timezone;
      if (changes.jobType !== undefined) schedule.jobType = changes.jobType;
      if (changes.payload !== undefined) schedule.payload = changes.payload;
      if (changes.enabled !== undefined) schedule.enabled = changes.enabled;
      if (changes.overlap !== undefined) schedule.overlap = changes.overlap;
      if (changes.catchUp !== undefined) schedule.catchUp = changes.catchUp;
      this.checkTiming(schedule);
      // A schedule whose handler went away can still be paused, renamed or retimed.
      if (changes.jobType !== undefined || changes.payload !== undefined) await this.checkJob(schedule);
      schedule.timezone = canonicalTimezone(schedule.timezone);
      const now = this.clock.now();
      if (
        timing.cron !== schedule.cron ||
        timing.timezone !== schedule.timezone ||
        timing.enabled !== schedule.enabled
      )
        schedule.nextFireAt = this.nextFireAt(schedule, now);
      schedule.updatedAt = now;
      return this.saveUnique(manager, schedule);
    });
    this.runner.apply(updated);
    return updated;
  }

  async remove(id: string): Promise<void> {
    await this.serializer.transaction(async (manager) => {
      const schedule = await this.mustFind(id, manager);
      if (schedule.builtIn)
        throw new ScheduleError(
          'SCHEDULE_BUILT_IN',
          `${schedule.name} is built in; pause it instead of deleting it`,
        );
      await this.store.delete(manager, id);
    });
    this.runner.forget(id);
  }

  /** Stops firing; slots that pass while paused are not caught up. */
  pause(id: string): Promise<Schedule> {
    return this.update(id, { enabled: false });
  }

  /** Fires again from the next slot after now. */
  resume(id: string): Promise<Schedule> {
    return this.update(id, { enabled: true });
  }

  /**
   * Makes the schedules whose names start with `prefix` exactly `wanted`, in the caller's
   * transaction: schedules that follow something another module owns (a connection's pollers).
   * Missing ones are created, changed ones updated (a new cron or enabled state recomputes the next
   * firing), the rest deleted. The scheduler of this process learns of them after the commit.
   */
  async reconcile(manager: EntityManager, prefix: string, wanted: NewSchedule[]): Promise<void> {
    const existing = new Map(
      (await this.store.findByNamePrefix(manager, prefix)).map((schedule) => [schedule.name, schedule]),
    );
    const now = this.clock.now();
    const applied: Schedule[] = [];
    for (const input of wanted) {
      if (!input.name.startsWith(prefix)) throw new Error(`${input.name} does not start with ${prefix}`);
      const current = existing.get(input.name);
      existing.delete(input.name);
      const schedule = current ?? this.fresh(input, now);
      const [timingBefore, before] = [timingOf(schedule), settingsOf(schedule)];
      Object.assign(schedule, {
        cron: input.cron.trim(),
        timezone: input.timezone,
        jobType: input.jobType,
        payload: input.payload ?? {},
        enabled: input.enabled ?? true,
        overlap: input.overlap ?? 'skip',
        catchUp: input.catchUp ?? 'skip',
      });
      this.checkTiming(schedule);
      schedule.timezone = canonicalTimezone(schedule.timezone);
      if (current && settingsOf(schedule) === before) continue;
      if (!current || timingOf(schedule) !== timingBefore)
        schedule.nextFireAt = this.nextFireAt(schedule, now);
      schedule.updatedAt = now;
      applied.push(await this.saveUnique(manager, schedule));
    }
    const removed = [...existing.values()];
    for (const schedule of removed) await this.store.delete(manager, schedule.id);
    this.serializer.afterCommit(manager, () => {
      applied.forEach((schedule) => this.runner.apply(schedule));
      removed.forEach((schedule) => this.runner.forget(schedule.id));
    });
  }

  /**
   * Enqueues the schedule's job now, paused or not, whatever the overlap policy: an operator asked
   * for it. The key names the time, so it never takes a slot's key.
   */
  trigger(id: string): Promise<TriggerResult> {
    return this.serializer.transaction(async (manager) => {
      const schedule = await this.mustFind(id, manager);
      const now = this.clock.now();
      const idempotencyKey = manualKey(schedule.id, now);
      const job = await this.jobs.enqueue(schedule.jobType, schedule.payload, { idempotencyKey }, manager);
      await this.store.update(manager, id, { lastFiredAt: now, lastJobId: job.id, updatedAt: now });
      return { jobId: job.id, idempotencyKey };
    });
  }

  /**
   * Creates the retention schedule if missing, and keeps its cron at JUNCTION_RETENTION_CRON.
   * Processes booting together race on the unique name; the losers find the winner's row.
   */
  async ensureRetentionSchedule(): Promise<void> {
    const cron = this.config.events.retentionCron;
    const now = this.clock.now();
    const retention = this.fresh(
      {
        name: RETENTION_SCHEDULE_NAME,
        cron,
        timezone: 'UTC',
        jobType: RETENTION_JOB_TYPE,
        overlap: 'skip',
        catchUp: 'once',
      },
      now,
    );
    retention.builtIn = true;
    retention.nextFireAt = new CronSlots(cron, 'UTC').nextAfter(now);
    const created = await this.store.insertUnlessNamed(retention);
    if (created) this.logger.log(`created the built-in schedule ${RETENTION_SCHEDULE_NAME} (${cron} UTC)`);
    await this.serializer.transaction(async (manager) => {
      const schedule = await this.store.getByName(manager, RETENTION_SCHEDULE_NAME);
      if (schedule.cron === cron && schedule.timezone === 'UTC') return;
      const nextFireAt = schedule.enabled ? new CronSlots(cron, 'UTC').nextAfter(now) : null;
      await this.store.update(manager, schedule.id, { cron, timezone: 'UTC', nextFireAt, updatedAt: now });
      this.logger.log(`the built-in schedule ${RETENTION_SCHEDULE_NAME} now fires at ${cron} UTC`);
    });
  }

  /** A new schedule as `input` describes it, with the defaults filled in; not yet checked or stored. */
  private fresh(input: NewSchedule, now: Date): Schedule {
    return Object.assign(new Schedule(), {
      id: newId(now.getTime()),
      name: input.name.trim(),
      cron: input.cron.trim(),
      timezone: input.timezone,
      jobType: input.jobType,
      payload: input.payload ?? {},
      enabled: input.enabled ?? true,
      overlap: input.overlap ?? 'skip',
      catchUp: input.catchUp ?? 'skip',
      builtIn: false,
      lastFiredAt: null,
      nextFireAt: null,
      lastJobId: null,
      createdAt: now,
      updatedAt: now,
    } satisfies Schedule);
  }

  /** Refuses a cron that does not parse or never fires, and a zone that is not IANA. */
  private checkTiming(schedule: Schedule): void {
    const problems: FieldProblem[] = [];
    const zone = timezoneProblems(schedule.timezone);
    if (zone.length > 0) problems.push({ field: 'timezone', problems: zone });
    const cron = cronProblems(schedule.cron, zone.length > 0 ? 'UTC' : schedule.timezone);
    if (cron.length > 0) problems.push({ field: 'cron', problems: cron });
    if (problems.length > 0) {
      const fields = problems.map((p) => p.field).join(' and ');
      throw new ScheduleError(
        'INVALID_SCHEDULE',
        `the schedule's ${fields} ${problems.length > 1 ? 'are' : 'is'} invalid`,
        problems,
      );
    }
  }

  /**
   * Refuses a job type without a handler, a payload its handler's payload class refuses, and one
   * its payload check refuses (a connection or an action that does not exist).
   */
  private async checkJob(schedule: Schedule): Promise<void> {
    const handler = this.jobs.handlerOf(schedule.jobType);
    if (handler.payload) {
      const payload = schedule.payload;
      const errors =
        typeof payload === 'object' && payload !== null && !Array.isArray(payload)
          ? await validate(plainToInstance(handler.payload, payload), {
              whitelist: true,
              forbidNonWhitelisted: true,
            })
          : null;
      if (errors === null || errors.length > 0) {
        const found = errors?.flatMap((e) => Object.values(e.constraints ?? {})) ?? [
          'payload must be an object',
        ];
        throw new ScheduleError('INVALID_SCHEDULE', `the payload does not suit a ${schedule.jobType} job`, [
          { field: 'payload', problems: found },
        ]);
      }
    }
    const problems = await this.jobs.checkPayload(schedule.jobType, schedule.payload);
    if (problems.length > 0) {
      throw new ScheduleError(
        'INVALID_SCHEDULE',
        `the payload does not suit a ${schedule.jobType} job: ${problems.map((p) => p.message).join('; ')}`,
        problems.map((p) => ({ field: `payload.${p.path}`, problems: [p.message] })),
      );
    }
  }

  private nextFireAt(schedule: Schedule, now: Date): Date | null {
    return schedule.enabled ? new CronSlots(schedule.cron, schedule.timezone).nextAfter(now) : null;
  }

  private async assertNameFree(manager: EntityManager, name: string): Promise<void> {
    if (await this.store.nameTaken(manager, name)) throw nameTaken(name);
  }

  private async mustFind(id: string, manager?: EntityManager): Promise<Schedule> {
    const schedule = await this.store.findById(id, manager);
    if (!schedule) throw new ScheduleError('SCHEDULE_NOT_FOUND', `no schedule with id ${id}`);
    return schedule;
  }

  /** Saves the schedule, refusing it when a concurrent write took its name first. */
  private async saveUnique(manager: EntityManager, schedule: Schedule): Promise<Schedule> {
    const saved = await this.store.save(manager, schedule);
    if (!saved) throw nameTaken(schedule.name);
    return saved;
  }
}

/** What a built-in schedule keeps: its name (how boot finds it), its job type, and its timing (from the configuration). */
function assertBuiltInChange(schedule: Schedule, changes: ScheduleChanges): void {
  const fixed = (['name', 'jobType', 'cron', 'timezone'] as const).filter(
    (field) => changes[field] !== undefined && changes[field] !== schedule[field],
  );
  if (fixed.length === 0) return;
  const hint =
    fixed.includes('cron') || fixed.includes('timezone') ? '; set JUNCTION_RETENTION_CRON instead' : '';
  throw new ScheduleError(
    'SCHEDULE_BUILT_IN',
    `${schedule.name} is built in: its ${fixed.join(', ')} cannot change${hint}`,
    fixed.map((field) => ({ field, problems: [`${field} of a built-in schedule cannot change`] })),
  );
}

/** What decides when a schedule fires, to tell whether its next firing must be computed again. */
function timingOf(schedule: Schedule): string {
  return JSON.stringify([schedule.cron, schedule.timezone, schedule.enabled]);
}

/** Everything a caller sets on a schedule, to tell whether it changed. */
function settingsOf(schedule: Schedule): string {
  const { cron, timezone, enabled, jobType, payload, overlap, catchUp } = schedule;
  return JSON.stringify([cron, timezone, enabled, jobType, payload, overlap, catchUp]);
}

function nameTaken(name: string): ScheduleError {
  return new ScheduleError('SCHEDULE_NAME_TAKEN', `a schedule named "${name}" exists already`);
}
