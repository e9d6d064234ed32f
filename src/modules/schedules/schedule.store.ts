import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThanOrEqual, Like } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { insertEntities, rawSql } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Schedule } from './schedule.entity.js';

/** The fields that change when a schedule fires or its timing is reset. */
export type ScheduleUpdate = Partial<
  Pick<Schedule, 'cron' | 'timezone' | 'nextFireAt' | 'lastFiredAt' | 'lastJobId' | 'updatedAt'>
>;

/** The schedule table. A schedule's name is unique; the unique index has the last word. */
@Injectable()
export class ScheduleStore {
  constructor(
    private readonly serializer: WriteSerializer,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<Schedule | null> {
    return manager.findOneBy(Schedule, { id });
  }

  /** The schedule of this name; throws when there is none. */
  findByName(name: string): Promise<Schedule | null> {
    return this.dataSource.manager.findOneBy(Schedule, { name });
  }

  async getByName(manager: EntityManager, name: string): Promise<Schedule> {
    return manager.findOneByOrFail(Schedule, { name });
  }

  /** The schedules whose names start with `prefix`, which holds no LIKE wildcard. */
  async findByNamePrefix(manager: EntityManager, prefix: string): Promise<Schedule[]> {
    if (/[%_\\]/.test(prefix)) throw new Error(`a schedule name prefix may not hold % _ or \\: ${prefix}`);
    return manager.find(Schedule, { where: { name: Like(`${prefix}%`) }, order: { name: 'ASC' } });
  }

  async nameTaken(manager: EntityManager, name: string): Promise<boolean> {
    return manager.existsBy(Schedule, { name });
  }

  list(page: PageQueryDto): Promise<Page<Schedule>> {
    return paginate(this.dataSource.manager.createQueryBuilder(Schedule, 'schedule'), page);
  }

  /**
   * Inserts or updates the schedule; null when another schedule holds its name. The caller's name
   * check can race with a concurrent write on PostgreSQL, so the unique index decides.
   */
  async save(manager: EntityManager, schedule: Schedule): Promise<Schedule | null> {
    try {
      return await manager.save(schedule);
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /**
   * Inserts the schedule in a transaction of its own unless one of its name exists; false when
   * one did. Processes booting together race on the unique name: the losers get false too.
   */
  async insertUnlessNamed(schedule: Schedule): Promise<boolean> {
    try {
      return await this.serializer.transaction(async (manager) => {
        if (await manager.existsBy(Schedule, { name: schedule.name })) return false;
        await insertEntities(manager, Schedule, [schedule]);
        return true;
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return false;
    }
  }

  async update(manager: EntityManager, id: string, changes: ScheduleUpdate): Promise<void> {
    await manager.update(Schedule, { id }, changes);
  }

  async delete(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(Schedule, { id });
  }

  /** The ids of the enabled schedules whose next firing has come by `now`, soonest first. */
  async dueIds(now: Date): Promise<string[]> {
    const due = await this.dataSource.manager.find(Schedule, {
      select: { id: true },
      where: { enabled: true, nextFireAt: LessThanOrEqual(now) },
      order: { nextFireAt: 'ASC' },
    });
    return due.map(({ id }) => id);
  }

  /** Every schedule's timing, for the scheduler's CronJobs. */
  async timings(): Promise<Pick<Schedule, 'id' | 'cron' | 'timezone' | 'enabled'>[]> {
    return this.dataSource.manager.find(Schedule, {
      select: { id: true, cron: true, timezone: true, enabled: true },
    });
  }

  /**
   * Moves nextFireAt from `expected` to `next`, a compare-and-set: true for the one caller that
   * moved it. On PostgreSQL a concurrent claim waits for ours to commit, then finds nextFireAt
   * changed and updates nothing.
   */
  async claimFiring(manager: EntityManager, id: string, expected: Date, next: Date): Promise<boolean> {
    const claim = await rawSql(
      manager,
      `UPDATE schedule SET next_fire_at = ? WHERE id = ? AND next_fire_at = ?`,
      [next, id, expected],
    );
    return claim.affected === 1;
  }
}
