import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { Clock } from '../../common/clock.js';
import { hasErrorCode } from '../../common/errors/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JOB_ERROR_CODES } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import { CronSlots, decideFiring, slotKey } from './schedule-slots.js';
import type { Schedule } from './schedule.entity.js';
import { ScheduleStore } from './schedule.store.js';

/**
 * What one attempt to fire a schedule came to. `taken`: another process (or an earlier call)
 * fired this slot first.
 */
export type FireOutcome = 'fired' | 'not-due' | 'taken' | 'skipped-missed' | 'skipped-overlap' | 'no-handler';

/**
 * The scheduler role: one CronJob per enabled schedule in the SchedulerRegistry, re-read from the
 * database every JUNCTION_SCHEDULE_SYNC_MS so changes made in other processes apply. A firing
 * only enqueues a job; its key names the slot, and the schedule's nextFireAt is claimed with a
 * compare-and-set, so several schedulers fire each slot once.
 */
@Injectable()
export class ScheduleRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Schedules');
  /** The cron and zone each registered CronJob was built from, by schedule id. */
  private readonly running = new Map<string, string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private syncTimer: NodeJS.Timeout | undefined;
  private active = false;
  private syncing = false;
  /** CronJob ticks in this process, and what its firing attempts came to, for logs and tests. */
  ticks = 0;
  readonly outcomes: Record<FireOutcome, number> = {
    fired: 0,
    'not-due': 0,
    taken: 0,
    'skipped-missed': 0,
    'skipped-overlap': 0,
    'no-handler': 0,
  };

  constructor(
    private readonly config: AppConfig,
    private readonly registry: SchedulerRegistry,
    private readonly serializer: WriteSerializer,
    private readonly store: ScheduleStore,
    private readonly jobs: JobsService,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.hasRole('scheduler')) return;
    this.active = true;
    await this.sync();
    // Catch-up for slots that passed while no scheduler ran; a failure here waits for the next sync.
    await this.fireDue(this.clock.now()).catch((error: unknown) =>
      this.logger.error(`catching up schedules at boot failed: ${String(error)}`),
    );
    this.syncTimer = setInterval(() => this.track(this.syncAndFire()), this.config.events.scheduleSyncMs);
    this.syncTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.active = false;
    clearInterval(this.syncTimer);
    for (const id of [...this.running.keys()]) this.unregister(id);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Fires every enabled schedule whose nextFireAt has come by `now`: one job for its latest due
   * slot (see `decideFiring`). Runs at boot to catch up; tests call it with chosen times.
   */
  async fireDue(now: Date): Promise<Map<string, FireOutcome>> {
    const outcomes = new Map<string, FireOutcome>();
    for (const id of await this.store.dueIds(now)) outcomes.set(id, await this.fire(id, now));
    return outcomes;
  }

  /** Fires one schedule at `now` if it is due; safe to call from several processes at once. */
  async fire(id: string, now: Date): Promise<FireOutcome> {
    const outcome = await this.serializer.transaction(async (manager): Promise<FireOutcome> => {
      const schedule = await this.store.findById(id, manager);
      if (!schedule?.enabled || !schedule.nextFireAt || schedule.nextFireAt > now) return 'not-due';
      const decision = decideFiring(
        new CronSlots(schedule.cron, schedule.timezone),
        schedule.nextFireAt,
        schedule.catchUp,
        now,
        this.toleranceMs(),
      );
      // Whoever moves nextFireAt on owns this firing, so each slot fires once across processes.
      if (!(await this.store.claimFiring(manager, id, schedule.nextFireAt, decision.next))) return 'taken';
      if (!decision.slot) {
        if (decision.missed)
          this.logger.log(`${schedule.name}: skipped firings missed while no scheduler ran`);
        return decision.missed ? 'skipped-missed' : 'not-due';
      }
      if (schedule.overlap === 'skip' && schedule.lastJobId && (await this.unfinished(schedule.lastJobId))) {
        this.logger.log(
          `${schedule.name}: skipped the ${decision.slot.toISOString()} firing, job ${schedule.lastJobId} is unfinished`,
        );
        return 'skipped-overlap';
      }
      try {
        this.jobs.handlerOf(schedule.jobType);
      } catch (error) {
        if (!hasErrorCode(error, JOB_ERROR_CODES.UNKNOWN_JOB_TYPE)) throw error;
        this.logger.error(`${schedule.name}: not fired, this process has no handler for ${schedule.jobType}`);
        return 'no-handler';
      }
      const job = await this.jobs.enqueue(
        schedule.jobType,
        schedule.payload,
        { idempotencyKey: slotKey(id, decision.slot) },
        manager,
      );
      await this.store.update(manager, id, { lastFiredAt: decision.slot, lastJobId: job.id });
      return 'fired';
    });
    this.outcomes[outcome]++;
    return outcome;
  }

  /** Applies a schedule changed in this process at once, instead of at the next sync. */
  apply(schedule: Schedule): void {
    if (!this.active) return;
    if (schedule.enabled) this.register(schedule);
    else this.unregister(schedule.id);
  }

  forget(id: string): void {
    if (this.active) this.unregister(id);
  }

  /** Makes the CronJobs match the schedule table: adds new, replaces changed, removes gone or paused. */
  async sync(): Promise<void> {
    const schedules = await this.store.timings();
    const wanted = new Map(schedules.filter((s) => s.enabled).map((s) => [s.id, s]));
    for (const id of [...this.running.keys()]) if (!wanted.has(id)) this.unregister(id);
    for (const schedule of wanted.values()) this.register(schedule);
  }

  private async syncAndFire(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      await this.sync();
      // Catches slots whose tick this process did not have, such as a schedule another process created.
      await this.fireDue(this.clock.now());
    } finally {
      this.syncing = false;
    }
  }

  private register(schedule: Pick<Schedule, 'id' | 'cron' | 'timezone'>): void {
    if (!this.active) return;
    const signature = `${schedule.cron} ${schedule.timezone}`;
    if (this.running.get(schedule.id) === signature) return;
    this.unregister(schedule.id);
    let job: CronJob;
    try {
      job = CronJob.from({
        cronTime: schedule.cron,
        timeZone: schedule.timezone,
        name: cronName(schedule.id),
        onTick: () => {
          this.ticks++;
          this.track(this.fire(schedule.id, this.clock.now()));
        },
        start: false,
      });
    } catch (error) {
      this.logger.error(`schedule ${schedule.id} cannot run: ${String(error)}`);
      return;
    }
    this.registry.addCronJob(cronName(schedule.id), job);
    this.running.set(schedule.id, signature);
    job.start();
  }

  private unregister(id: string): void {
    if (!this.running.delete(id)) return;
    const name = cronName(id);
    if (this.registry.doesExist('cron', name)) this.registry.deleteCronJob(name);
  }

  /** A slot due longer ago than this was missed: no scheduler ran at its time. */
  private toleranceMs(): number {
    return this.config.events.scheduleSyncMs + 1000;
  }

  private async unfinished(jobId: string): Promise<boolean> {
    try {
      const { job } = await this.jobs.get(jobId);
      return job.status === 'queued' || job.status === 'running' || job.status === 'failed';
    } catch (error) {
      if (hasErrorCode(error, JOB_ERROR_CODES.JOB_NOT_FOUND)) return false;
      throw error;
    }
  }

  /** Runs background work so shutdown can wait for it, logging instead of throwing. */
  private track(work: Promise<unknown>): void {
    const tracked = work
      .catch((error: unknown) => this.logger.error(`a schedule firing failed: ${String(error)}`))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

function cronName(id: string): string {
  return `schedule:${id}`;
}
