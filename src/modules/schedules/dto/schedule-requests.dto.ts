import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { IsNotBlank } from '../../../common/validation/not-blank.decorator.js';
import { JOB_TYPE_PATTERN } from '../../jobs/jobs.contract.js';
import { SCHEDULE_CATCH_UPS, SCHEDULE_OVERLAPS } from '../schedule.entity.js';
import type { ScheduleCatchUp, ScheduleOverlap } from '../schedule.entity.js';

const JOB_TYPE_MESSAGE = 'jobType must be lowercase words joined by dots or dashes';

export class CreateScheduleDto {
  @ApiProperty({ example: 'nightly-stock-sync', minLength: 1, maxLength: 200, description: 'Unique' })
  @IsString()
  @Length(1, 200)
  @IsNotBlank()
  name!: string;

  @ApiProperty({
    example: '0 2 * * *',
    description:
      '5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or an interval ' +
      '`@every <n><s|m|h|d>` (slots are multiples of it since the Unix epoch, in UTC)',
  })
  @IsString()
  @MaxLength(100)
  cron!: string;

  @ApiProperty({ example: 'Europe/Berlin', description: 'An IANA time zone; the cron is read in it' })
  @IsString()
  @MaxLength(100)
  timezone!: string;

  @ApiProperty({ example: 'partner.pull-stock', description: 'A job type with a handler' })
  @IsString()
  @Matches(JOB_TYPE_PATTERN, { message: JOB_TYPE_MESSAGE })
  @MaxLength(200)
  jobType!: string;

  @ApiPropertyOptional({
    description: 'The payload of every job it enqueues (any JSON; default {})',
    example: { warehouse: 'north' },
  })
  @IsOptional()
  @IsDefined()
  payload?: unknown;

  @ApiPropertyOptional({ example: true, default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    enum: SCHEDULE_OVERLAPS,
    default: 'skip',
    description: '`skip`: no firing while the previous firing’s job is unfinished; `allow`: fire regardless',
  })
  @IsOptional()
  @IsIn(SCHEDULE_OVERLAPS)
  overlap?: ScheduleOverlap;

  @ApiPropertyOptional({
    enum: SCHEDULE_CATCH_UPS,
    default: 'skip',
    description: 'Firings missed while no scheduler ran: `skip` them, or fire `once` for the latest',
  })
  @IsOptional()
  @IsIn(SCHEDULE_CATCH_UPS)
  catchUp?: ScheduleCatchUp;
}

export class UpdateScheduleDto {
  @ApiPropertyOptional({ example: 'nightly-stock-sync', minLength: 1, maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @IsNotBlank()
  name?: string;

  @ApiPropertyOptional({ example: '30 2 * * *' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  cron?: string;

  @ApiPropertyOptional({ example: 'Europe/Berlin' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  timezone?: string;

  @ApiPropertyOptional({ example: 'partner.pull-stock' })
  @IsOptional()
  @IsString()
  @Matches(JOB_TYPE_PATTERN, { message: JOB_TYPE_MESSAGE })
  @MaxLength(200)
  jobType?: string;

  @ApiPropertyOptional({ description: 'Any JSON', example: { warehouse: 'south' } })
  @IsOptional()
  @IsDefined()
  payload?: unknown;

  @ApiPropertyOptional({ example: false, description: 'Same as pause (false) and resume (true)' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ enum: SCHEDULE_OVERLAPS })
  @IsOptional()
  @IsIn(SCHEDULE_OVERLAPS)
  overlap?: ScheduleOverlap;

  @ApiPropertyOptional({ enum: SCHEDULE_CATCH_UPS })
  @IsOptional()
  @IsIn(SCHEDULE_CATCH_UPS)
  catchUp?: ScheduleCatchUp;
}
