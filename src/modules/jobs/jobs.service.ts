import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, In } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql, readTimestamp } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AttemptStopped, JobExecutor } from './job-executor.service.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import type { RegisteredHandler } from './job-handler.registry.js';
import { dispatchOf } from './job-dispatch.js';
import { JobAttempt } from './job-attempt.entity.js';
import { JobLog } from './job-log.entity.js';
import { JobStep } from './job-step.entity.js';
import { JobError } from './job.error.js';
import { Job } from './job.entity.js';
import { MAX_ATTEMPTS_LIMIT, MAX_PRIORITY } from './jobs.contract.js';
import type { JobStatus } from './jobs.contract.js';
import { JobsMetrics } from './jobs.metrics.js';
import type { LedgerSnapshot } from './jobs.metrics.js';
import { JobTransport } from './transports/job-transport.js';

export interface EnqueueOptions {
  /** Run no sooner than this long from now. */
  delayMs?: number;
  /** Run no sooner than this time (instead of delayMs). */
  runAt?: Date;
  /** Higher runs first; default 0. */
  priority?: number;
  /** A second enqueue with the same key returns the first job instead of adding one. */
  idempotencyKey?: string;
  /** Jobs sharing this key run at most `concurrencyLimit` at a time (the handler's option). */
  concurrencyKey?: string;
  /** Overrides the handler's maxAttempts. */
  maxAttempts?: number;
  /** The event that started this job. */
  eventId?: string;
}

export interface EnqueueRequest {
  type: string;
  payload: unknown;
  options?: EnqueueOptions;
}

export interface JobFilter {
  status?: JobStatus;
  type?: string;
  queue?: string;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
}

export interface JobDetails {
  job: Job;
  attempts: JobAttempt[];
  steps: JobStep[];
  logs: JobLog[];
}

export interface QueueStats {
  queue: string;
  counts: Record<JobStatus, number>;
  /** Seconds the oldest due, unclaimed job has waited; 0 when none waits. */
  oldestQueuedAgeSeconds: number;
  /** Jobs that succeeded in the last minute. */
  succeededLastMinute: number;
}

const INSERT_CHUNK = 400;
const MAX_LOG_LINES = 500;

/** The jobs API for other modules and for the REST controllers. */
@Injectable()
export class JobsService {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly serializer: WriteSerializer,
    private readonly transport: JobTransport,
    private readonly executor: JobExecutor,
    private readonly clock: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
    metrics: JobsMetrics,
  ) {
    metrics.readFrom(() => this.snapshot());
  }

  /**
   * Adds a job. Pass the caller's transaction manager to commit the job together with the
   * caller's rows; it is handed to workers only after that transaction commits.
   */
  async enqueue(
    type: string,
    payload: unknown,
    options: EnqueueOptions = {},
    manager?: EntityManager,
  ): Promise<Job> {
    const [job] = await this.enqueueMany([{ type, payload, options }], manager);
    return job;
  }

  /** Adds many jobs in one transaction; each idempotency key already taken returns its existing job. */
  async enqueueMany(requests: EnqueueRequest[], manager?: EntityManager): Promise<Job[]> {
    const now = this.clock.now();
    const rows = requests.map((request) => this.newJob(request, now));
    const work = async (m: EntityManager): Promise<Job[]> => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK)
        await insertJobs(m, rows.slice(i, i + INSERT_CHUNK));
      const keys = [...new Set(rows.flatMap((r) => (r.idempotencyKey ? [r.idempotencyKey] : [])))];
      const byKey = new Map<string, Job>();
      for (let i = 0; i < keys.length; i += INSERT_CHUNK) {
        const found = await m.find(Job, { where: { idempotencyKey: In(keys.slice(i, i + INSERT_CHUNK)) } });
        for (const job of found) byKey.set(job.idempotencyKey!, job);
      }
      const jobs = rows.map((row) => (row.idempotencyKey ? byKey.get(row.idempotencyKey)! : row));
      const added = jobs.filter((job, i) => job.id === rows[i].id);
      this.serializer.afterCommit(m, () => this.transport.dispatch(added.map((job) => dispatchOf(job))));
      return jobs;
    };
    return manager ? work(manager) : this.serializer.transaction(work);
  }

  /**
   * Enqueues a job sent from outside (the REST API): the payload must satisfy the handler's
   * payload class when it declares one.
   */
  async submit(type: string, payload: unknown, options: EnqueueOptions): Promise<Job> {
    const handler = this.handlerOf(type);
    if (handler.payload) {
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new JobError('INVALID_PAYLOAD', `the payload of a ${type} job must be an object`);
      }
      const errors = await validate(plainToInstance(handler.payload, payload), {
        whitelist: true,
        forbidNonWhitelisted: true,
      });
      if (errors.length > 0) {
        const details = errors.map((e) => ({
          field: e.property,
          problems: Object.values(e.constraints ?? {}),
        }));
        throw new JobError('INVALID_PAYLOAD', `the payload of a ${type} job does not validate`, details);
      }
    }
    return this.enqueue(type, payload, options);
  }

  async get(id: string): Promise<JobDetails> {
    const job = await this.dataSource.manager.findOne(Job, { where: { id } });
    if (!job) throw new JobError('JOB_NOT_FOUND', `no job with id ${id}`);
    const [attempts, steps, logs] = await Promise.all([
      this.dataSource.manager.find(JobAttempt, { where: { jobId: id }, order: { attempt: 'ASC' } }),
      this.dataSource.manager.find(JobStep, {
        where: { jobId: id },
        order: { id: 'ASC' },
      }),
      this.dataSource.manager.find(JobLog, {
        where: { jobId: id },
        order: { id: 'ASC' },
        take: MAX_LOG_LINES,
      }),
    ]);
    return { job, attempts, steps, logs };
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

  /**
   * Cancels a job that has not finished. A waiting job is cancelled at once; a running one is
   * marked cancelled and its signal aborted (in another process, at its next lease renewal), and
   * whatever it returns later is not recorded.
   */
  async cancel(id: string): Promise<Job> {
    await this.serializer.transaction(async (m) => {
      const job = await this.mustFind(m, id);
      if (job.status !== 'queued' && job.status !== 'failed' && job.status !== 'running') {
        throw new JobError(
          'JOB_NOT_CANCELLABLE',
          `job ${id} is ${job.status}; only unfinished jobs can be cancelled`,
        );
      }
      const now = this.clock.now();
      const { affected } = await rawSql(
        m,
        `UPDATE job SET status = 'cancelled', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ? AND status = ?`,
        [now, id, job.status],
      );
      if (affected !== 1)
        throw new JobError('JOB_NOT_CANCELLABLE', `job ${id} changed state meanwhile; try again`);
      if (job.status === 'running') {
        await rawSql(
          m,
          `UPDATE job_attempt SET outcome = 'cancelled', finished_at = ?, error_code = 'CANCELLED',
             error_message = 'cancelled while running' WHERE job_id = ? AND attempt = ?`,
          [now, id, job.attempt],
        );
        this.serializer.afterCommit(m, () =>
          this.executor.abort(id, new AttemptStopped('CANCELLED', 'the job was cancelled')),
        );
      }
    });
    return this.mustFind(this.dataSource.manager, id);
  }

  /** Queues a dead, failed or cancelled job to run now; a job out of attempts gets one more. */
  async retry(id: string): Promise<Job> {
    await this.serializer.transaction(async (m) => {
      const job = await this.mustFind(m, id);
      if (job.status !== 'dead' && job.status !== 'failed' && job.status !== 'cancelled') {
        throw new JobError(
          'JOB_NOT_RETRYABLE',
          `job ${id} is ${job.status}; only dead, failed or cancelled jobs can be retried`,
        );
      }
      const now = this.clock.now();
      const { affected } = await rawSql(
        m,
        `UPDATE job SET status = 'queued', run_at = ?, finished_at = NULL,
           max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END
         WHERE id = ? AND status = ?`,
        [now, id, job.status],
      );
      if (affected !== 1)
        throw new JobError('JOB_NOT_RETRYABLE', `job ${id} changed state meanwhile; try again`);
      this.serializer.afterCommit(m, () => this.transport.dispatch([dispatchOf(job, now)]));
    });
    return this.mustFind(this.dataSource.manager, id);
  }

  /** Deletes finished jobs (succeeded, dead, cancelled) that finished before `before`, with their history. */
  purge(before: Date): Promise<number> {
    return this.serializer.transaction(async (m) => {
      const { affected } = await rawSql(
        m,
        `DELETE FROM job WHERE status IN ('succeeded', 'dead', 'cancelled') AND finished_at < ?`,
        [before],
      );
      return affected;
    });
  }

  async queueStats(): Promise<QueueStats[]> {
    const manager = this.dataSource.manager;
    const now = this.clock.now();
    const stats = new Map<string, QueueStats>();
    const statsOf = (queue: string) => {
      let entry = stats.get(queue);
      if (!entry) {
        entry = {
          queue,
          counts: { queued: 0, running: 0, succeeded: 0, failed: 0, dead: 0, cancelled: 0 },
          oldestQueuedAgeSeconds: 0,
          succeededLastMinute: 0,
        };
        stats.set(queue, entry);
      }
      return entry;
    };
    for (const handler of this.registry.all()) statsOf(handler.queue);
    const counts = await rawSql<{ queue: string; status: JobStatus; n: number | string }>(
      manager,
      `SELECT queue, status, count(*) AS n FROM job GROUP BY queue, status`,
    );
    for (const row of counts.rows) statsOf(row.queue).counts[row.status] = Number(row.n);
    const oldest = await rawSql<{ queue: string; oldest: unknown }>(
      manager,
      `SELECT queue, MIN(run_at) AS oldest FROM job WHERE status IN ('queued', 'failed') AND run_at <= ? GROUP BY queue`,
      [now],
    );
    for (const row of oldest.rows) {
      const since = readTimestamp(row.oldest);
      if (since)
        statsOf(row.queue).oldestQueuedAgeSeconds = Math.max(0, (now.getTime() - since.getTime()) / 1000);
    }
    const recent = await rawSql<{ queue: string; n: number | string }>(
      manager,
      `SELECT queue, count(*) AS n FROM job WHERE status = 'succeeded' AND finished_at >= ? GROUP BY queue`,
      [new Date(now.getTime() - 60_000)],
    );
    for (const row of recent.rows) statsOf(row.queue).succeededLastMinute = Number(row.n);
    return [...stats.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  /** The handler of a type, or UNKNOWN_JOB_TYPE. */
  /** Every registered handler: the job types, their options and the events they listen to. */
  handlers(): RegisteredHandler[] {
    return this.registry.all();
  }

  /** The jobs these events started, oldest first. */
  async ofEvents(eventIds: string[]): Promise<Job[]> {
    const jobs: Job[] = [];
    for (let i = 0; i < eventIds.length; i += INSERT_CHUNK) {
      const chunk = eventIds.slice(i, i + INSERT_CHUNK);
      jobs.push(...(await this.dataSource.manager.find(Job, { where: { eventId: In(chunk) } })));
    }
    return jobs.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Those of these events that have a job not yet finished (queued, running or waiting to retry). */
  async eventsWithUnfinishedJobs(eventIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < eventIds.length; i += INSERT_CHUNK) {
      const chunk = eventIds.slice(i, i + INSERT_CHUNK);
      const rows = await this.dataSource.manager
        .createQueryBuilder(Job, 'job')
        .select('DISTINCT job.eventId', 'eventId')
        .where({ eventId: In(chunk), status: In(['queued', 'running', 'failed']) })
        .getRawMany<{ eventId: string }>();
      for (const row of rows) found.add(String(row.eventId));
    }
    return found;
  }

  handlerOf(type: string): RegisteredHandler {
    const handler = this.registry.find(type);
    if (!handler) {
      const known = this.registry
        .all()
        .map((h) => h.type)
        .sort();
      throw new JobError('UNKNOWN_JOB_TYPE', `no handler for job type "${type}"`, { knownTypes: known });
    }
    return handler;
  }

  private async snapshot(): Promise<LedgerSnapshot> {
    const { rows } = await rawSql<{ type: string; status: string; n: number | string }>(
      this.dataSource.manager,
      `SELECT type, status, count(*) AS n FROM job GROUP BY type, status`,
    );
    const queues = await this.queueStats();
    return {
      byTypeAndStatus: rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.n) })),
      queues: queues.map((q) => ({
        queue: q.queue,
        depth: q.counts.queued + q.counts.failed,
        oldestQueuedAgeSeconds: q.oldestQueuedAgeSeconds,
      })),
    };
  }

  private async mustFind(manager: EntityManager, id: string): Promise<Job> {
    const job = await manager.findOne(Job, { where: { id } });
    if (!job) throw new JobError('JOB_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  private newJob(request: EnqueueRequest, now: Date): Job {
    const handler = this.handlerOf(request.type);
    const options = request.options ?? {};
    const problems = checkOptions(options, request.payload);
    if (problems.length > 0) throw new JobError('INVALID_JOB_OPTIONS', problems.join('; '), problems);
    const job = new Job();
    job.id = newId();
    job.type = handler.type;
    job.queue = handler.queue;
    job.payload = request.payload ?? null;
    job.status = 'queued';
    job.priority = options.priority ?? 0;
    job.runAt = options.runAt ?? new Date(now.getTime() + (options.delayMs ?? 0));
    job.attempt = 0;
    job.maxAttempts = options.maxAttempts ?? handler.maxAttempts;
    job.backoff = handler.backoff;
    job.timeoutMs = handler.timeoutMs;
    job.idempotencyKey = options.idempotencyKey ?? null;
    job.concurrencyKey = options.concurrencyKey ?? null;
    job.concurrencyLimit = handler.concurrencyLimit;
    job.leaseOwner = null;
    job.leaseExpiresAt = null;
    job.progress = null;
    job.result = null;
    job.lastError = null;
    job.createdAt = now;
    job.startedAt = null;
    job.finishedAt = null;
    job.eventId = options.eventId ?? null;
    return job;
  }
}

function checkOptions(options: EnqueueOptions, payload: unknown): string[] {
  const problems: string[] = [];
  const integerIn = (name: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max))
      problems.push(`${name} must be an integer from ${min} to ${max}`);
  };
  integerIn('delayMs', options.delayMs, 0, 365 * 24 * 3_600_000);
  integerIn('priority', options.priority, -MAX_PRIORITY, MAX_PRIORITY);
  integerIn('maxAttempts', options.maxAttempts, 1, MAX_ATTEMPTS_LIMIT);
  if (options.runAt !== undefined && Number.isNaN(options.runAt.getTime()))
    problems.push('runAt is not a valid time');
  if (options.runAt !== undefined && options.delayMs !== undefined)
    problems.push('give delayMs or runAt, not both');
  for (const name of ['idempotencyKey', 'concurrencyKey'] as const) {
    const value = options[name];
    if (value !== undefined && (value.length === 0 || value.length > 300))
      problems.push(`${name} must be 1 to 300 characters`);
  }
  try {
    JSON.stringify(payload ?? null);
  } catch {
    problems.push('the payload must be JSON');
  }
  return problems;
}

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
];

/** One multi-row INSERT; a row whose idempotency key is taken is skipped (the caller finds the first job). */
async function insertJobs(manager: EntityManager, jobs: Job[]): Promise<void> {
  const row = `(${JOB_COLUMNS.map(() => '?').join(', ')})`;
  await rawSql(
    manager,
    `INSERT INTO job (${JOB_COLUMNS.join(', ')}) VALUES ${jobs.map(() => row).join(', ')} ON CONFLICT DO NOTHING`,
    jobs.flatMap((job) => [
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
    ]),
  );
}
