import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { Tracing } from '../../common/tracing/tracing.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AttemptStopped, JobExecutor } from './job-executor.service.js';
import { changeOf, JobChanges } from './job-changes.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import type { RegisteredHandler } from './job-handler.registry.js';
import { dispatchOf } from './job-dispatch.js';
import type { JobAttempt } from './job-attempt.entity.js';
import type { JobLog } from './job-log.entity.js';
import type { JobStep } from './job-step.entity.js';
import type { JobPayloadProblem } from './job-payload-check.decorator.js';
import { JobError } from './job.error.js';
import { Job } from './job.entity.js';
import { JobStore } from './job.store.js';
import type { JobFilter } from './job.store.js';
import { MAX_ATTEMPTS_LIMIT, MAX_PRIORITY } from './jobs.contract.js';
import type { JobStatus, RetryableStatus } from './jobs.contract.js';
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
  /**
   * The trace its attempts continue (a W3C `traceparent`); the span active where it is enqueued
   * when absent. Callers that enqueue for several traces at once (event intake) set it per job.
   */
  traceParent?: string | null;
}

export interface EnqueueRequest {
  type: string;
  payload: unknown;
  options?: EnqueueOptions;
}

export type { JobFilter } from './job.store.js';

/** Jobs queued again per transaction by `retryMatching`. */
const RETRY_CHUNK = 500;

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

/** The jobs API for other modules and for the REST controllers. */
@Injectable()
export class JobsService {
  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly serializer: WriteSerializer,
    private readonly transport: JobTransport,
    private readonly executor: JobExecutor,
    private readonly clock: Clock,
    private readonly store: JobStore,
    private readonly changes: JobChanges,
    private readonly tracing: Tracing,
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
      await this.store.insert(m, rows);
      const keys = [...new Set(rows.flatMap((r) => (r.idempotencyKey ? [r.idempotencyKey] : [])))];
      const byKey = await this.store.byIdempotencyKeys(m, keys);
      const jobs = rows.map((row) => (row.idempotencyKey ? byKey.get(row.idempotencyKey)! : row));
      const added = jobs.filter((job, i) => job.id === rows[i].id);
      this.serializer.afterCommit(m, () => {
        this.transport.dispatch(added.map((job) => dispatchOf(job)));
        this.changes.announce(() => added.map((job) => changeOf(job)));
      });
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
    const problems = await this.checkPayload(type, payload);
    if (problems.length > 0) {
      const details = problems.map((p) => ({ field: `payload.${p.path}`, problems: [p.message] }));
      throw new JobError(
        'PAYLOAD_REFUSED',
        `the ${type} job cannot work: ${details.map((d) => `${d.field}: ${d.problems[0]}`).join('; ')}`,
        details,
      );
    }
    return this.enqueue(type, payload, options);
  }

  /**
   * What the type's `@JobPayloadCheck` finds wrong with a payload (a connection or an action that
   * does not exist); none when the type has no check. Paths are within the payload. Callers that
   * store something that will enqueue jobs later (routes, schedules) ask before they store it.
   */
  async checkPayload(type: string, payload: unknown): Promise<JobPayloadProblem[]> {
    const check = this.handlerOf(type).checkPayload;
    return check ? check(payload) : [];
  }

  /** The job alone, without its history; null when there is none. */
  find(id: string): Promise<Job | null> {
    return this.store.find(id);
  }

  async get(id: string): Promise<JobDetails> {
    const job = await this.mustFind(id);
    return { job, ...(await this.store.history(id)) };
  }

  list(filter: JobFilter, page: PageQueryDto): Promise<Page<Job>> {
    return this.store.list(filter, page);
  }

  /**
   * Cancels a job that has not finished. A waiting job is cancelled at once; a running one is
   * marked cancelled and its signal aborted (in another process, at its next lease renewal), and
   * whatever it returns later is not recorded.
   */
  async cancel(id: string): Promise<Job> {
    await this.serializer.transaction(async (m) => {
      const job = await this.mustFind(id, m);
      if (job.status !== 'queued' && job.status !== 'failed' && job.status !== 'running') {
        throw new JobError(
          'JOB_NOT_CANCELLABLE',
          `job ${id} is ${job.status}; only unfinished jobs can be cancelled`,
        );
      }
      const now = this.clock.now();
      if (!(await this.store.cancel(m, id, job.status, now)))
        throw new JobError('JOB_NOT_CANCELLABLE', `job ${id} changed state meanwhile; try again`);
      this.serializer.afterCommit(m, () => this.changes.announce(() => [changeOf(job, 'cancelled')]));
      if (job.status === 'running') {
        await this.store.cancelAttempt(m, id, job.attempt, now);
        this.serializer.afterCommit(m, () =>
          this.executor.abort(id, new AttemptStopped('CANCELLED', 'the job was cancelled')),
        );
      }
    });
    return this.mustFind(id);
  }

  /** Queues a dead, failed or cancelled job to run now; a job out of attempts gets one more. */
  async retry(id: string): Promise<Job> {
    await this.serializer.transaction(async (m) => {
      const job = await this.mustFind(id, m);
      if (job.status !== 'dead' && job.status !== 'failed' && job.status !== 'cancelled') {
        throw new JobError(
          'JOB_NOT_RETRYABLE',
          `job ${id} is ${job.status}; only dead, failed or cancelled jobs can be retried`,
        );
      }
      const now = this.clock.now();
      if (!(await this.store.requeue(m, id, job.status, now)))
        throw new JobError('JOB_NOT_RETRYABLE', `job ${id} changed state meanwhile; try again`);
      this.serializer.afterCommit(m, () => {
        this.transport.dispatch([dispatchOf(job, now)]);
        this.changes.announce(() => [changeOf(job, 'queued')]);
      });
    });
    return this.mustFind(id);
  }

  /**
   * Queues every job matching `filter` to run now, as `retry` does for one; returns how many. It
   * goes in chunks, each a transaction of its own whose jobs are dispatched once it commits, so a
   * retry of many jobs neither holds the database for long nor loses any chunk that committed.
   */
  async retryMatching(filter: JobFilter & { status: RetryableStatus }): Promise<number> {
    let retried = 0;
    for (;;) {
      const dispatches = await this.serializer.transaction(async (m) => {
        const requeued = await this.store.requeueMatching(m, filter, this.clock.now(), RETRY_CHUNK);
        this.serializer.afterCommit(m, () => {
          this.transport.dispatch(requeued);
          this.changes.announce(() =>
            requeued.map(({ id, queue, attempt }) => ({ id, queue, attempt, status: 'queued' as const })),
          );
        });
        return requeued;
      });
      retried += dispatches.length;
      if (dispatches.length < RETRY_CHUNK) return retried;
    }
  }

  /** Deletes finished jobs (succeeded, dead, cancelled) that finished before `before`, with their history. */
  purge(before: Date): Promise<number> {
    return this.serializer.transaction((m) => this.store.purge(m, before));
  }

  async queueStats(): Promise<QueueStats[]> {
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
    for (const row of await this.store.countsByQueueAndStatus())
      statsOf(row.key).counts[row.status] = row.count;
    for (const [queue, since] of await this.store.oldestDueByQueue(now)) {
      statsOf(queue).oldestQueuedAgeSeconds = Math.max(0, (now.getTime() - since.getTime()) / 1000);
    }
    for (const [queue, count] of await this.store.succeededSinceByQueue(new Date(now.getTime() - 60_000))) {
      statsOf(queue).succeededLastMinute = count;
    }
    return [...stats.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  /** Every registered handler: the job types, their options and the events they listen to. */
  handlers(): RegisteredHandler[] {
    return this.registry.all();
  }

  /** The jobs these events started, oldest first. */
  async ofEvents(eventIds: string[]): Promise<Job[]> {
    const jobs = await this.store.ofEvents(eventIds);
    return jobs.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Those of these events that have a job not yet finished (queued, running or waiting to retry). */
  eventsWithUnfinishedJobs(eventIds: string[]): Promise<Set<string>> {
    return this.store.eventsWithUnfinishedJobs(eventIds);
  }

  /** The handler of a type, or UNKNOWN_JOB_TYPE. */
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
    const counts = await this.store.countsByTypeAndStatus();
    const queues = await this.queueStats();
    return {
      byTypeAndStatus: counts.map((c) => ({ type: c.key, status: c.status, count: c.count })),
      queues: queues.map((q) => ({
        queue: q.queue,
        depth: q.counts.queued + q.counts.failed,
        oldestQueuedAgeSeconds: q.oldestQueuedAgeSeconds,
      })),
    };
  }

  private async mustFind(id: string, manager?: EntityManager): Promise<Job> {
    const job = await this.store.find(id, manager);
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
    job.traceParent = options.traceParent ?? this.tracing.traceParent();
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
