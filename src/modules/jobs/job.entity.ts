import { Column, Entity, PrimaryColumn } from 'typeorm';

import type { BackoffPolicy, JobErrorSummary, JobStatus } from './jobs.contract.js';

/** One unit of work in the ledger, the source of truth whichever transport carries it. */
@Entity('job')
export class Job {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 200 })
  type!: string;

  @Column({ type: String, length: 100 })
  queue!: string;

  @Column({ type: 'simple-json' })
  payload!: unknown;

  @Column({ type: String, length: 16 })
  status!: JobStatus;

  /** Higher runs first. */
  @Column({ type: 'integer' })
  priority!: number;

  @Column({ name: 'run_at', type: Date })
  runAt!: Date;

  /** Attempts started so far; the running attempt's number while running. */
  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ name: 'max_attempts', type: 'integer' })
  maxAttempts!: number;

  @Column({ type: 'simple-json' })
  backoff!: BackoffPolicy;

  @Column({ name: 'timeout_ms', type: 'integer', nullable: true })
  timeoutMs!: number | null;

  @Column({ name: 'idempotency_key', type: String, length: 300, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'concurrency_key', type: String, length: 300, nullable: true })
  concurrencyKey!: string | null;

  /** At most this many jobs with the same concurrency key run at once. */
  @Column({ name: 'concurrency_limit', type: 'integer' })
  concurrencyLimit!: number;

  @Column({ name: 'lease_owner', type: String, length: 200, nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_expires_at', type: Date, nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ type: 'real', nullable: true })
  progress!: number | null;

  @Column({ type: 'simple-json', nullable: true })
  result!: unknown;

  @Column({ name: 'last_error', type: 'simple-json', nullable: true })
  lastError!: JobErrorSummary | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  /** The event that started this job, if an event did. */
  @Column({ name: 'event_id', type: 'uuid', nullable: true })
  eventId!: string | null;

  /**
   * The W3C `traceparent` of the span that enqueued this job (an event's intake, another job's
   * attempt); each attempt's span is its child. Null while tracing is off.
   */
  @Column({ name: 'trace_parent', type: String, length: 100, nullable: true })
  traceParent!: string | null;
}
