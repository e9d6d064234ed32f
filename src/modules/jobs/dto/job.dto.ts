import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { ATTEMPT_OUTCOMES } from '../job-attempt.entity.js';
import type { AttemptOutcome, JobAttempt } from '../job-attempt.entity.js';
import type { JobLog } from '../job-log.entity.js';
import type { JobStep } from '../job-step.entity.js';
import type { Job } from '../job.entity.js';
import { JOB_STATUSES } from '../jobs.contract.js';
import type { JobStatus } from '../jobs.contract.js';
import type { JobDetails, QueueStats } from '../jobs.service.js';

export class JobErrorSummaryDto {
  @ApiProperty({ example: 'RATE_LIMITED' })
  code!: string;

  @ApiProperty({ example: 'partner answered 429' })
  message!: string;
}

export class JobDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'partner.push-order' })
  type!: string;

  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ description: 'Any JSON', example: { orderId: 'A-1001' } })
  payload!: unknown;

  @ApiProperty({
    enum: JOB_STATUSES,
    example: 'queued',
    description: '`failed` means a retry is scheduled at runAt; `dead` means no more attempts',
  })
  status!: JobStatus;

  @ApiProperty({ example: 0, description: 'Higher runs first' })
  priority!: number;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z', description: 'Not before this time' })
  runAt!: string;

  @ApiProperty({ example: 1, description: 'Attempts started so far' })
  attempt!: number;

  @ApiProperty({ example: 5 })
  maxAttempts!: number;

  @ApiProperty({ type: Number, nullable: true, example: 30000 })
  timeoutMs!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'order:A-1001' })
  idempotencyKey!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'account:42' })
  concurrencyKey!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 50 })
  progress!: number | null;

  @ApiProperty({
    description: 'What the handler returned (JSON), once succeeded',
    nullable: true,
    example: null,
  })
  result!: unknown;

  @ApiProperty({ type: JobErrorSummaryDto, nullable: true })
  lastError!: JobErrorSummaryDto | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  eventId!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-24T10:00:00.050Z' })
  startedAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-24T10:00:00.120Z' })
  finishedAt!: string | null;
}

export class JobPageDto extends PageDto(JobDto) {}

export class JobAttemptDto {
  @ApiProperty({ example: 1 })
  attempt!: number;

  @ApiProperty({ example: 'host-1:4242:a1b2c3', description: 'The worker that ran it' })
  worker!: string;

  @ApiProperty({
    enum: ATTEMPT_OUTCOMES,
    example: 'failed',
    description: '`deferred`: put back before doing its work (a rate budget was spent); not a failed attempt',
  })
  outcome!: AttemptOutcome;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'TIMEOUT' })
  errorCode!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'the attempt took longer than 30000 ms' })
  errorMessage!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  errorStack!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.050Z' })
  startedAt!: string;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-24T10:00:30.050Z' })
  finishedAt!: string | null;
}

export class JobStepDto {
  @ApiProperty({ example: 'create-at-provider' })
  name!: string;

  @ApiProperty({ description: 'What the step returned (JSON)', example: { serverId: 'srv-9' } })
  result!: unknown;

  @ApiProperty({ example: 1, description: 'The attempt that completed it' })
  attempt!: number;

  @ApiProperty({ example: '2026-11-24T10:00:01.000Z' })
  completedAt!: string;
}

export class JobLogDto {
  @ApiProperty({ example: 1 })
  attempt!: number;

  @ApiProperty({ example: 'pushed order A-1001' })
  message!: string;

  @ApiProperty({ example: '2026-11-24T10:00:01.000Z' })
  at!: string;
}

export class JobDetailsDto extends JobDto {
  @ApiProperty({ type: JobAttemptDto, isArray: true })
  attempts!: JobAttemptDto[];

  @ApiProperty({ type: JobStepDto, isArray: true })
  steps!: JobStepDto[];

  @ApiProperty({ type: JobLogDto, isArray: true, description: 'The first 500 lines' })
  logs!: JobLogDto[];
}

export class JobCountsDto {
  @ApiProperty({ example: 3 }) queued!: number;
  @ApiProperty({ example: 1 }) running!: number;
  @ApiProperty({ example: 120 }) succeeded!: number;
  @ApiProperty({ example: 0 }) failed!: number;
  @ApiProperty({ example: 0 }) dead!: number;
  @ApiProperty({ example: 0 }) cancelled!: number;
}

export class QueueStatsDto {
  @ApiProperty({ example: 'default' })
  queue!: string;

  @ApiProperty({ type: JobCountsDto })
  counts!: JobCountsDto;

  @ApiProperty({ example: 1 })
  running!: number;

  @ApiProperty({ example: 0.4, description: 'Seconds the oldest due job has waited to start' })
  oldestQueuedAgeSeconds!: number;

  @ApiProperty({ example: 57, description: 'Jobs that succeeded in the last 60 seconds' })
  succeededLastMinute!: number;
}

export class RetryResultDto {
  @ApiProperty({ example: 42, description: 'How many jobs were queued to run again' })
  retried!: number;
}

export class PurgeResultDto {
  @ApiProperty({ example: 1200 })
  deleted!: number;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toJobDto(job: Job): JobDto {
  return {
    id: job.id,
    type: job.type,
    queue: job.queue,
    payload: job.payload,
    status: job.status,
    priority: job.priority,
    runAt: job.runAt.toISOString(),
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    timeoutMs: job.timeoutMs,
    idempotencyKey: job.idempotencyKey,
    concurrencyKey: job.concurrencyKey,
    progress: job.progress,
    result: job.result ?? null,
    lastError: job.lastError,
    eventId: job.eventId,
    createdAt: job.createdAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

export function toJobDetailsDto(details: JobDetails): JobDetailsDto {
  return {
    ...toJobDto(details.job),
    attempts: details.attempts.map((a: JobAttempt) => ({
      attempt: a.attempt,
      worker: a.worker,
      outcome: a.outcome,
      errorCode: a.errorCode,
      errorMessage: a.errorMessage,
      errorStack: a.errorStack,
      startedAt: a.startedAt.toISOString(),
      finishedAt: iso(a.finishedAt),
    })),
    steps: details.steps.map((s: JobStep) => ({
      name: s.name,
      result: s.result ?? null,
      attempt: s.attempt,
      completedAt: s.completedAt.toISOString(),
    })),
    logs: details.logs.map((l: JobLog) => ({
      attempt: l.attempt,
      message: l.message,
      at: l.at.toISOString(),
    })),
  };
}

export function toQueueStatsDto(stats: QueueStats): QueueStatsDto {
  return {
    ...stats,
    running: stats.counts.running,
    oldestQueuedAgeSeconds: Math.round(stats.oldestQueuedAgeSeconds * 1000) / 1000,
  };
}
