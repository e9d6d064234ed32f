import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { httpStatusOf } from '../../../common/errors/all-exceptions.filter.js';
import { PageDto } from '../../../common/pagination/pagination.js';
import { JOB_STATUSES } from '../../jobs/jobs.contract.js';
import type { JobStatus, JobSummary } from '../../jobs/jobs.contract.js';
import type { Event } from '../event.entity.js';
import type { BatchItemResult, Ingested } from '../event-intake.service.js';

export class EventDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'order.created' })
  name!: string;

  @ApiProperty({ example: 'shop' })
  source!: string;

  @ApiProperty({ description: 'Any JSON', example: { orderId: 'A-1001', total: 129.9 } })
  data!: unknown;

  @ApiProperty({ type: String, nullable: true, example: 'order-A-1001-created' })
  idempotencyKey!: string | null;

  @ApiProperty({ example: '2026-11-25T09:30:00.000Z' })
  occurredAt!: Date;

  @ApiProperty({ example: '2026-11-25T09:30:00.120Z' })
  receivedAt!: Date;

  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'The account that posted it' })
  postedBy!: string | null;

  @ApiProperty({ example: 0, description: '0 from outside; one more than its cause for job.* events' })
  causationDepth!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'The job whose outcome it reports',
  })
  causedByJob!: string | null;
}

export class EventPageDto extends PageDto(EventDto) {}

export class EventJobDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'partner.push-order' })
  type!: string;

  @ApiProperty({ enum: JOB_STATUSES, example: 'succeeded' })
  status!: JobStatus;

  @ApiProperty({ example: 1 })
  attempt!: number;

  @ApiProperty({ example: '2026-11-25T09:30:00.121Z' })
  createdAt!: Date;

  @ApiProperty({ type: Date, nullable: true })
  finishedAt!: Date | null;
}

export class EventDetailsDto extends EventDto {
  @ApiProperty({ type: EventJobDto, isArray: true, description: 'Every job it started, replays included' })
  jobs!: EventJobDto[];
}

export class IngestedDto {
  @ApiProperty({ format: 'uuid' })
  eventId!: string;

  @ApiProperty({
    description: 'True when the idempotency key was used before: nothing new was stored or started',
  })
  duplicate!: boolean;

  @ApiProperty({ type: String, isArray: true, format: 'uuid', description: 'The jobs this request started' })
  jobIds!: string[];
}

export class BatchItemErrorDto {
  @ApiProperty({ example: 'SCHEMA_MISMATCH' })
  code!: string;

  @ApiProperty({ example: 'the data does not match the schema of order.created: 1 violation(s)' })
  message!: string;

  @ApiPropertyOptional({ description: 'What exactly is wrong, such as schema violations' })
  details?: unknown;
}

export class BatchItemDto {
  @ApiProperty({ example: 0, description: 'Its position in the request' })
  index!: number;

  @ApiProperty({ example: 202, description: 'What POST /events would have answered for it alone' })
  status!: number;

  @ApiPropertyOptional({ format: 'uuid' })
  eventId?: string;

  @ApiPropertyOptional()
  duplicate?: boolean;

  @ApiPropertyOptional({ type: String, isArray: true, format: 'uuid' })
  jobIds?: string[];

  @ApiPropertyOptional({ type: BatchItemErrorDto })
  error?: BatchItemErrorDto;
}

export class BatchResultDto {
  @ApiProperty({ example: 499 })
  accepted!: number;

  @ApiProperty({ example: 1 })
  refused!: number;

  @ApiProperty({ type: BatchItemDto, isArray: true })
  items!: BatchItemDto[];
}

export class ReplayStartedDto {
  @ApiProperty({ format: 'uuid', description: 'The replay job: GET /jobs/:id shows its progress and result' })
  jobId!: string;
}

export class ReplayedDto {
  @ApiProperty({ format: 'uuid' })
  eventId!: string;

  @ApiProperty({ type: String, isArray: true, format: 'uuid', description: 'The new jobs' })
  jobIds!: string[];
}

export function toEventDto(event: Event): EventDto {
  return {
    id: event.id,
    name: event.name,
    source: event.source,
    data: event.data,
    idempotencyKey: event.idempotencyKey,
    occurredAt: event.occurredAt,
    receivedAt: event.receivedAt,
    postedBy: event.postedBy,
    causationDepth: event.causationDepth,
    causedByJob: event.causedByJob,
  };
}

export function toEventDetailsDto({ event, jobs }: { event: Event; jobs: JobSummary[] }): EventDetailsDto {
  return {
    ...toEventDto(event),
    jobs: jobs.map((job) => ({
      id: job.id,
      type: job.type,
      status: job.status,
      attempt: job.attempt,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
    })),
  };
}

export function toIngestedDto({ event, jobs, duplicate }: Ingested): IngestedDto {
  return { eventId: event.id, duplicate, jobIds: jobs.map((job) => job.id) };
}

export function toBatchResultDto(results: BatchItemResult[]): BatchResultDto {
  const items = results.map((result, index): BatchItemDto => {
    if (result.ok) return { index, status: 202, ...toIngestedDto(result.ingested) };
    const { code, message, details } = result.error;
    return { index, status: httpStatusOf(result.error), error: { code, message, details } };
  });
  const accepted = results.filter((result) => result.ok).length;
  return { accepted, refused: results.length - accepted, items };
}
