import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, In } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import {
  inChunks,
  nullableSqlText,
  rawSql,
  readTimestamp,
  sqlPlaceholders,
  sqlText,
} from '../../database/raw-sql.js';
import { dispatchOf } from './job-dispatch.js';
import type { Dispatch } from './job-dispatch.js';
import { JobAttempt } from './job-attempt.entity.js';
import { JobLog } from './job-log.entity.js';
import { JobStep } from './job-step.entity.js';
import { Job } from './job.entity.js';
import type { BackoffPolicy, JobErrorSummary, JobStatus } from './jobs.contract.js';

export interface JobFilter {
  status?: JobStatus;
  type?: string;
  queue?: string;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
}

/** What a job went through: its attempts, completed steps and log lines. */
export interface JobHistory {
  attempts: JobAttempt[];
  steps: JobStep[];
  logs: JobLog[];
}

/** A count per queue, or per type, and state. */
export interface StatusCount {
  key: string;
  status: JobStatus;
  count: number;
}

/** Rows per INSERT and ids per IN list: under either database's parameter limit. */
const INSERT_CHUNK = 400;
/** The most log lines a job's details show. */
const MAX_LOG_LINES = 500;

const JOB_COLUMNS = [
  'id',
  'type',
  'queue',
  'payload',
  'status',
  'priority',
  'run_at',
  'attempt',
  'max_attempts',
  'backoff',
  'timeout_ms',
  'idempotency_key',
  'concurrency_key',
  'concurrency_limit',
  'created_at',
  'event_id',
  'trace_parent',
];

/**
 * The job table as JobsService sees it: enqueue inserts, reads for the API, the guarded state
 * changes an operator makes (cancel, retry, purge) and the figures behind queue stats and metrics.
 * The running side of a job (claims, outcomes, leases) has stores of its own.
 */
@Injectable()
export class JobStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Multi-row INSERTs; a row whose idempotency key is taken is skipped (`byIdempotencyKeys` finds the first job). */
  async insert(manager: EntityManager, jobs: Job[]): Promise<void> {
    const row = `(${sqlPlaceholders(JOB_COLUMNS.length)})`;
    for (const chunk of inChunks(jobs, INSERT_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO job (${JOB_COLUMNS.join(', ')}) VALUES ${chunk.map(() => row).join(', ')} ON CONFLICT DO NOTHING`,
        chunk.flatMap((job) => [
          job.id,
          job.type,
          job.queue,
          JSON.stringify(job.payload ?? null),
          job.status,
          job.priority,
          job.runAt,
          job.attempt,
          job.maxAttempts,
          JSON.stringify(job.backoff),
          job.timeoutMs,
          job.idempotencyKey,
          job.concurrencyKey,
          job.concurrencyLimit,
          job.createdAt,
          job.eventId,
          job.traceParent,
        ]),
      );
    }
  }

  /** The jobs holding these idempotency keys, by key. */
  async byIdempotencyKeys(manager: EntityManager, keys: string[]): Promise<Map<string, Job>> {
    const byKey = new Map<string, Job>();
    for (const chunk of inChunks(keys, INSERT_CHUNK)) {
      const found = await manager.find(Job, { where: { idempotencyKey: In(chunk) } });
      for (const job of found) byKey.set(job.idempotencyKey!, job);
    }
    return byKey;
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<Job | null> {
    return manager.findOne(Job, { where: { id } });
  }

  async history(id: string): Promise<JobHistory> {
    const manager = this.dataSource.manager;
    const [attempts, steps, logs] = await Promise.all([
      manager.find(JobAttempt, { where: { jobId: id }, order: { attempt: 'ASC' } }),
      manager.find(JobStep, { where: { jobId: id }, order: { id: 'ASC' } }),
      manager.find(JobLog, { where: { jobId: id }, order: { id: 'ASC' }, take: MAX_LOG_LINES }),
    ]);
    return { attempts, steps, logs };
  }

  list(filter: JobFilter, page: PageQueryDto): Promise<Page<Job>> {
    const query = this.dataSource.manager.createQueryBuilder(Job, 'job');
    if (filter.status) query.andWhere('job.status = :status', { status: filter.status });
    if (filter.type) query.andWhere('job.type = :type', { type: filter.type });
    if (filter.queue) query.andWhere('job.queue = :queue', { queue: filter.queue });
    if (filter.from || filter.to) {
      query.andWhere(
        new Brackets((range) => {
          if (filter.from) range.andWhere('job.createdAt >= :from', { from: filter.from });
          if (filter.to) range.andWhere('job.createdAt < :to', { to: filter.to });
        }),
      );
    }
    return paginate(query, page);
  }

  /** Cancels the job if it is still in state `from`; returns whether it was. */
  async cancel(manager: EntityManager, id: string, from: JobStatus, now: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE job SET status = 'cancelled', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ? AND status = ?`,
      [now, id, from],
    );
    return affected === 1;
  }

  /** Marks a running attempt as ended by a cancel. */
  async cancelAttempt(manager: EntityManager, id: string, attempt: number, now: Date): Promise<void> {
    await rawSql(
      manager,
      `UPDATE job_attempt SET outcome = 'cancelled', finished_at = ?, error_code = 'CANCELLED',
         error_message = 'cancelled while running' WHERE job_id = ? AND attempt = ?`,
      [now, id, attempt],
    );
  }

  /**
   * Queues the job to run at `now` if it is still in state `from`, with one more attempt if none
   * are left; returns whether it was.
   */
  async requeue(manager: EntityManager, id: string, from: JobStatus, now: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE job SET status = 'queued', run_at = ?, finished_at = NULL,
         max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END
       WHERE id = ? AND status = ?`,
      [now, id, from],
    );
    return affected === 1;
  }

  /**
   * Queues again, to run now, up to `limit` jobs matching `filter` (whose status is one a retry
   * accepts), in id order; a job out of attempts gets one more. Returns the jobs to dispatch.
   */
  async requeueMatching(
    manager: EntityManager,
    filter: JobFilter & { status: JobStatus },
    now: Date,
    limit: number,
  ): Promise<Dispatch[]> {
    const conditions = ['status = ?'];
    const params: unknown[] = [filter.status];
    for (const [column, value, operator] of [
      ['type', filter.type, '='],
      ['queue', filter.queue, '='],
      ['created_at', filter.from, '>='],
      ['created_at', filter.to, '<'],
    ] as const) {
      if (value === undefined) continue;
      conditions.push(`${column} ${operator} ?`);
      params.push(value);
    }
    const { rows } = await rawSql(
      manager,
      `UPDATE job SET status = 'queued', run_at = ?, finished_at = NULL,
         max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END
       WHERE status = ? AND id IN (SELECT id FROM job WHERE ${conditions.join(' AND ')} ORDER BY id LIMIT ?)
       RETURNING id, attempt, queue, priority, run_at, concurrency_key`,
      [now, filter.status, ...params, limit],
    );
    return rows.map(dispatchFromRow);
  }

  /** Deletes finished jobs that finished before `before` (their history goes with them); returns how many. */
  async purge(manager: EntityManager, before: Date): Promise<number> {
    const { affected } = await rawSql(
      manager,
      `DELETE FROM job WHERE status IN ('succeeded', 'dead', 'cancelled') AND finished_at < ?`,
      [before],
    );
    return affected;
  }

  async countsByQueueAndStatus(): Promise<StatusCount[]> {
    const { rows } = await rawSql<{ queue: string; status: JobStatus; n: number | string }>(
      this.dataSource.manager,
      `SELECT queue, status, count(*) AS n FROM job GROUP BY queue, status`,
    );
    return rows.map((row) => ({ key: row.queue, status: row.status, count: Number(row.n) }));
  }

  async countsByTypeAndStatus(): Promise<StatusCount[]> {
    const { rows } = await rawSql<{ type: string; status: JobStatus; n: number | string }>(
      this.dataSource.manager,
      `SELECT type, status, count(*) AS n FROM job GROUP BY type, status`,
    );
    return rows.map((row) => ({ key: row.type, status: row.status, count: Number(row.n) }));
  }

  /** Per queue, the due time of its oldest job waiting to run at `now`. */
  async oldestDueByQueue(now: Date): Promise<Map<string, Date>> {
    const { rows } = await rawSql<{ queue: string; oldest: unknown }>(
      this.dataSource.manager,
      `SELECT queue, MIN(run_at) AS oldest FROM job WHERE status IN ('queued', 'failed') AND run_at <= ? GROUP BY queue`,
      [now],
    );
    const oldest = new Map<string, Date>();
    for (const row of rows) {
      const since = readTimestamp(row.oldest);
      if (since) oldest.set(row.queue, since);
    }
    return oldest;
  }

  /** Per queue, how many jobs succeeded since `since`. */
  async succeededSinceByQueue(since: Date): Promise<Map<string, number>> {
    const { rows } = await rawSql<{ queue: string; n: number | string }>(
      this.dataSource.manager,
      `SELECT queue, count(*) AS n FROM job WHERE status = 'succeeded' AND finished_at >= ? GROUP BY queue`,
      [since],
    );
    return new Map(rows.map((row) => [row.queue, Number(row.n)]));
  }

  async ofEvents(eventIds: string[]): Promise<Job[]> {
    const jobs: Job[] = [];
    for (const chunk of inChunks(eventIds, INSERT_CHUNK)) {
      jobs.push(...(await this.dataSource.manager.find(Job, { where: { eventId: In(chunk) } })));
    }
    return jobs;
  }

  async eventsWithUnfinishedJobs(eventIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const chunk of inChunks(eventIds, INSERT_CHUNK)) {
      const rows = await this.dataSource.manager
        .createQueryBuilder(Job, 'job')
        .select('DISTINCT job.eventId', 'eventId')
        .where({ eventId: In(chunk), status: In(['queued', 'running', 'failed']) })
        .getRawMany<{ eventId: string }>();
      for (const row of rows) found.add(String(row.eventId));
    }
    return found;
  }

  /**
   * Up to `limit` jobs waiting to run that were due by `cutoff`, oldest first; only these ids
   * when given. The Bull reconciler compares them with what Redis holds.
   */
  async waitingSince(cutoff: Date, limit: number, ids?: string[]): Promise<Dispatch[]> {
    const only = ids ? ` AND id IN (${sqlPlaceholders(ids.length)})` : '';
    const { rows } = await rawSql<Record<string, unknown>>(
      this.dataSource.manager,
      `SELECT id, attempt, queue, priority, run_at, concurrency_key FROM job
       WHERE status IN ('queued', 'failed') AND run_at <= ?${only} ORDER BY run_at LIMIT ?`,
      [cutoff, ...(ids ?? []), limit],
    );
    return rows.map(dispatchFromRow);
  }
}

/** A Dispatch from a job row read by raw SQL (id, attempt, queue, priority, run_at, concurrency_key). */
export function dispatchFromRow(row: Record<string, unknown>): Dispatch {
  return dispatchOf({
    id: String(row.id),
    attempt: Number(row.attempt),
    queue: String(row.queue),
    priority: Number(row.priority),
    runAt: readTimestamp(row.run_at)!,
    concurrencyKey: nullableSqlText(row.concurrency_key),
  });
}

/** A job row read by raw SQL (RETURNING *), converted as TypeORM would. */
export function jobFromRow(row: Record<string, unknown>): Job {
  const job = new Job();
  job.id = String(row.id);
  job.type = String(row.type);
  job.queue = String(row.queue);
  job.payload = parseJson(row.payload);
  job.status = row.status as JobStatus;
  job.priority = Number(row.priority);
  job.runAt = readTimestamp(row.run_at)!;
  job.attempt = Number(row.attempt);
  job.maxAttempts = Number(row.max_attempts);
  job.backoff = parseJson(row.backoff) as BackoffPolicy;
  job.timeoutMs = nullableNumber(row.timeout_ms);
  job.idempotencyKey = nullableSqlText(row.idempotency_key);
  job.concurrencyKey = nullableSqlText(row.concurrency_key);
  job.concurrencyLimit = Number(row.concurrency_limit);
  job.leaseOwner = nullableSqlText(row.lease_owner);
  job.leaseExpiresAt = readTimestamp(row.lease_expires_at);
  job.progress = nullableNumber(row.progress);
  job.result = parseJson(row.result);
  job.lastError = parseJson(row.last_error) as JobErrorSummary | null;
  job.createdAt = readTimestamp(row.created_at)!;
  job.startedAt = readTimestamp(row.started_at);
  job.finishedAt = readTimestamp(row.finished_at);
  job.eventId = nullableSqlText(row.event_id);
  job.traceParent = nullableSqlText(row.trace_parent);
  return job;
}

/** A JSON column read by raw SQL (text on SQLite and in simple-json columns). */
export function parseJson(value: unknown): unknown {
  return value === null || value === undefined ? null : JSON.parse(sqlText(value));
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
