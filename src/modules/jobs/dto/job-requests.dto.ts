import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import {
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import {
  JOB_STATUSES,
  JOB_TYPE_PATTERN,
  MAX_ATTEMPTS_LIMIT,
  MAX_PRIORITY,
  RETRYABLE_STATUSES,
} from '../jobs.contract.js';
import type { JobStatus, RetryableStatus } from '../jobs.contract.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';

export class JobQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: JOB_STATUSES })
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  @ApiPropertyOptional({ example: 'partner.push-order' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  type?: string;

  @ApiPropertyOptional({ example: 'default' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  queue?: string;

  @ApiPropertyOptional({ description: 'Created at or after (ISO 8601)', example: '2026-11-24T00:00:00Z' })
  @IsOptional()
  @IsoTime()
  from?: Date;

  @ApiPropertyOptional({ description: 'Created before (ISO 8601)', example: '2026-11-25T00:00:00Z' })
  @IsOptional()
  @IsoTime()
  to?: Date;
}

export class CreateJobDto {
  @ApiProperty({ example: 'partner.push-order', description: 'A job type with a handler' })
  @IsString()
  @Matches(JOB_TYPE_PATTERN, { message: 'type must be lowercase words joined by dots or dashes' })
  @MaxLength(200)
  type!: string;

  @ApiProperty({
    description: 'Any JSON; checked against the handler’s payload class if it has one',
    example: { orderId: 'A-1001' },
  })
  @IsDefined()
  payload!: unknown;

  @ApiPropertyOptional({ example: 0, description: 'Higher runs first' })
  @IsOptional()
  @IsInt()
  @Min(-MAX_PRIORITY)
  @Max(MAX_PRIORITY)
  priority?: number;

  @ApiPropertyOptional({ example: 5000, description: 'Run no sooner than this many ms from now' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 3_600_000)
  delayMs?: number;

  @ApiPropertyOptional({ example: '2026-11-24T12:00:00Z', description: 'Run no sooner than this time' })
  @IsOptional()
  @IsoTime()
  runAt?: Date;

  @ApiPropertyOptional({
    example: 'order:A-1001',
    description: 'Enqueueing the same key again returns the first job',
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  idempotencyKey?: string;

  @ApiPropertyOptional({
    example: 'account:42',
    description: 'Jobs with the same key run one (or the handler’s limit) at a time',
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  concurrencyKey?: string;

  @ApiPropertyOptional({ example: 3 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS_LIMIT)
  maxAttempts?: number;
}

export class PurgeJobsQueryDto {
  @ApiProperty({
    description: 'Delete finished jobs that finished before this time (ISO 8601)',
    example: '2026-11-01T00:00:00Z',
  })
  @IsoTime()
  before!: Date;
}

/** Which jobs `POST /jobs/retry` queues again: the list's filters, with a state a retry accepts. */
export class RetryJobsFilterDto extends PickType(JobQueryDto, ['type', 'queue', 'from', 'to'] as const) {
  @ApiProperty({ enum: RETRYABLE_STATUSES, example: 'dead' })
  @IsIn(RETRYABLE_STATUSES)
  status!: RetryableStatus;
}

export class RetryJobsDto {
  @ApiProperty({ type: RetryJobsFilterDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => RetryJobsFilterDto)
  filter!: RetryJobsFilterDto;
}
