import { Column, Entity, PrimaryColumn } from 'typeorm';

export const SCHEDULE_OVERLAPS = ['skip', 'allow'] as const;
/** `skip`: no firing while the previous firing's job is unfinished; `allow`: fire regardless. */
export type ScheduleOverlap = (typeof SCHEDULE_OVERLAPS)[number];

export const SCHEDULE_CATCH_UPS = ['skip', 'once'] as const;
/** For firings missed while no scheduler ran: `skip` them, or fire `once` for the latest. */
export type ScheduleCatchUp = (typeof SCHEDULE_CATCH_UPS)[number];

/** A job enqueued on a clock (cron expression in a time zone). */
@Entity('schedule')
export class Schedule {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 200 })
  name!: string;

  /** 5 fields (minute precision) or 6 (seconds first). */
  @Column({ type: String, length: 100 })
  cron!: string;

  /** An IANA zone such as `Europe/Berlin`. */
  @Column({ type: String, length: 100 })
  timezone!: string;

  @Column({ name: 'job_type', type: String, length: 200 })
  jobType!: string;

  @Column({ type: 'simple-json' })
  payload!: unknown;

  @Column({ type: Boolean })
  enabled!: boolean;

  @Column({ type: String, length: 8 })
  overlap!: ScheduleOverlap;

  @Column({ name: 'catch_up', type: String, length: 8 })
  catchUp!: ScheduleCatchUp;

  /** Junction's own schedules (retention): their job type cannot change and they cannot be deleted. */
  @Column({ name: 'built_in', type: Boolean })
  builtIn!: boolean;

  @Column({ name: 'last_fired_at', type: Date, nullable: true })
  lastFiredAt!: Date | null;

  @Column({ name: 'next_fire_at', type: Date, nullable: true })
  nextFireAt!: Date | null;

  @Column({ name: 'last_job_id', type: 'uuid', nullable: true })
  lastJobId!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
