import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { SCHEDULE_CATCH_UPS, SCHEDULE_OVERLAPS } from '../schedule.entity.js';
import type { Schedule, ScheduleCatchUp, ScheduleOverlap } from '../schedule.entity.js';
import type { TriggerResult } from '../schedules.service.js';

export class ScheduleDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'nightly-stock-sync' })
  name!: string;

  @ApiProperty({
    example: '0 2 * * *',
    description:
      '5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or `@every <n><s|m|h|d>`',
  })
  cron!: string;

  @ApiProperty({ example: 'Europe/Berlin', description: 'The IANA time zone the cron is read in' })
  timezone!: string;

  @ApiProperty({ example: 'partner.pull-stock' })
  jobType!: string;

  @ApiProperty({
    description: 'The payload of every job it enqueues (JSON)',
    example: { warehouse: 'north' },
  })
  payload!: unknown;

  @ApiProperty({ example: true, description: 'false while paused' })
  enabled!: boolean;

  @ApiProperty({
    enum: SCHEDULE_OVERLAPS,
    example: 'skip',
    description: '`skip`: no firing while the previous firing’s job is unfinished; `allow`: fire regardless',
  })
  overlap!: ScheduleOverlap;

  @ApiProperty({
    enum: SCHEDULE_CATCH_UPS,
    example: 'skip',
    description: 'Firings missed while no scheduler ran: `skip` them, or fire `once` for the latest',
  })
  catchUp!: ScheduleCatchUp;

  @ApiProperty({
    example: false,
    description:
      'Junction’s own (retention): it cannot be deleted, and its name, job type and timing are fixed',
  })
  builtIn!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-24T01:00:00.000Z',
    description: 'The slot of the latest firing (or the time of the latest manual trigger)',
  })
  lastFiredAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-25T01:00:00.000Z',
    description: 'The next slot; null while paused',
  })
  nextFireAt!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The job of the latest firing' })
  lastJobId!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  updatedAt!: string;
}

export class SchedulePageDto extends PageDto(ScheduleDto) {}

export class TriggerResultDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  jobId!: string;

  @ApiProperty({ example: 'schedule:019abc12-3def-7456-89ab-cdef01234567:manual:2026-11-24T10:00:00.123Z' })
  idempotencyKey!: string;
}

export function toScheduleDto(schedule: Schedule): ScheduleDto {
  return {
    id: schedule.id,
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    jobType: schedule.jobType,
    payload: schedule.payload,
    enabled: schedule.enabled,
    overlap: schedule.overlap,
    catchUp: schedule.catchUp,
    builtIn: schedule.builtIn,
    lastFiredAt: schedule.lastFiredAt?.toISOString() ?? null,
    nextFireAt: schedule.nextFireAt?.toISOString() ?? null,
    lastJobId: schedule.lastJobId,
    createdAt: schedule.createdAt.toISOString(),
    updatedAt: schedule.updatedAt.toISOString(),
  };
}

export function toTriggerResultDto(result: TriggerResult): TriggerResultDto {
  return { jobId: result.jobId, idempotencyKey: result.idempotencyKey };
}
