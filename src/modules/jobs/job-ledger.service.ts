import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { rawSql, readTimestamp, sqlText } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Batcher } from '../../common/batcher.js';
import { JobOutcomeHooks } from './job-outcome-hooks.service.js';
import type { FinalStatus, FinishedJob } from './job-outcome-hooks.service.js';
import type { FailureVerdict } from './job-failure.js';
import { dispatchOf } from './job-dispatch.js';
import type { Dispatch } from './job-dispatch.js';
import { decideRetry } from './retry-decision.js';
import { Job } from './job.entity.js';
import type { BackoffPolicy, JobErrorSummary, JobStatus } from './jobs.contract.js';

/** How an attempt ended, as the executor saw it. */
export type AttemptResult =
  { kind: 'succeeded'; result: string } | { kind: 'failed'; failure: FailureVerdict };

export interface Recorded {
  /** False when the job was no longer this worker's (cancelled, or its lease expired): nothing was written. */
  recorded: boolean;
  status: JobStatus | null;
  /** Set when a retry was scheduled. */
  retry: Dispatch | null;
}

/**
 * Why a claim of one job by id found nothing to run: it is no longer waiting, or it waits but
 * cannot run yet (not due, or its concurrency key is at its limit) and should be delivered again
 * at `retry.runAt`.
 */
export type ClaimMiss = { kind: 'gone' } | { kind: 'not-yet'; retry: Dispatch };

/** How many waiting jobs a claim looks at, so concurrency-key limits can skip some and still fill the batch. */
const CLAIM_SCAN_FACTOR = 4;
const MIN_CLAIM_SCAN = 50;
const GONE: ClaimMiss = { kind: 'gone' };
/** Retry a job whose concurrency key is at its limit this much later. */
const BLOCKED_RETRY_MS = 500;

/**
 * Every state change of a running job, each one a guarded statement: a worker changes a job only
 * while it holds the lease for that attempt, so a result that arrives after a cancel, or after the
 * lease expired and another worker took the job, is not recorded.
 */
@Injectable()
export class JobLedger {
  /** This process, as the owner of the leases it holds. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly postgres: boolean;
  private readonly claims: Batcher<{ id: string; keyed: boolean }, Job | ClaimMiss>;
  private readonly outcomes: Batcher<{ job: Job; result: AttemptResult }, Recorded>;

  constructor(
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly hooks: JobOutcomeHooks,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.postgres = config.database.kind === 'postgres';
    this.claims = new Batcher((group) => this.claimGroup(group));
    this.outcomes = new Batcher((group) => this.recordGroup(group));
  }

  /** Claims up to `limit` due jobs of a queue in priority order, in one statement. */
  claimBatch(queue: string, limit: number): Promise<Job[]> {
    return this.serializer.transaction(async (manager) => {
      await this.relaxDurability(manager);
      const now = this.clock.now();
      // On PostgreSQL, claims of one queue take turns so per-key running counts stay exact across processes.
      if (this.postgres) {
        await rawSql(manager, `SELECT pg_advisory_xact_lock(hashtext(?))`, [`junction.claim:${queue}`]);
      }
      return this.claimWhere(
        manager,
        now,
        'queue = ?',
        [queue],
        Math.max(MIN_CLAIM_SCAN, limit * CLAIM_SCAN_FACTOR),
        limit,
      );
    });
  }

  /**
   * Claims one job by id (Bull delivered it), or says why it cannot run now. Claims that arrive
   * together are made in one statement.
   */
  claimOne(id: string, keyed: boolean): Promise<Job | ClaimMiss> {
    return this.claims.submit({ id, keyed });
  }

  private async claimGroup(claims: { id: string; keyed: boolean }[]): Promise<(Job | ClaimMiss)[]> {
    const outcomes = await this.claimByIds(
      [...new Set(claims.map((c) => c.id))],
      claims.some((c) => c.keyed),
    );
    return claims.map((claim) => {
      const outcome = outcomes.get(claim.id) ?? GONE;
      // A job delivered twice in one group runs once.
      outcomes.set(claim.id, GONE);
      return outcome;
    });
  }

  private claimByIds(ids: string[], keyed: boolean): Promise<Map<string, Job | ClaimMiss>> {
    if (this.postgres && !keyed) {
      // One statement is a transaction of its own: no BEGIN and COMMIT round trips.
      const manager = this.dataSource.manager;
      const now = this.clock.now();
      return this.claimUnkeyed(manager, now, ids, RELAXED).then((claimed) =>
        this.withMisses(manager, now, ids, claimed),
      );
    }
    return this.serializer.transaction(async (manager) => {
      await this.relaxDurability(manager);
      const now = this.clock.now();
      const list = ids.map(() => '?').join(', ');
      if (keyed && this.postgres) {
        // Jobs with a concurrency key take turns per key (in key order, so claims cannot deadlock).
        await rawSql(
          manager,
          `SELECT pg_advisory_xact_lock(hashtext(k)) FROM (
             SELECT DISTINCT concurrency_key AS k FROM job WHERE id IN (${list}) AND concurrency_key IS NOT NULL ORDER BY 1
           ) keys`,
          ids,
        );
      }
      const claimed = keyed
        ? await this.claimWhere(manager, now, `id IN (${list})`, ids, ids.length, ids.length)
        : await this.claimUnkeyed(manager, now, ids, '');
      return this.withMisses(manager, now, ids, claimed);
    });
  }

  /** The claimed jobs by id, and for each id not claimed whether and when to deliver it again. */
  private async withMisses(
    manager: EntityManager,
    now: Date,
    ids: string[],
    claimed: Job[],
  ): Promise<Map<string, Job | ClaimMiss>> {
    const outcomes = new Map<string, Job | ClaimMiss>(claimed.map((job) => [job.id, job]));
    const missed = ids.filter((id) => !outcomes.has(id));
    if (missed.length === 0) return outcomes;
    const { rows } = await rawSql<Record<string, unknown>>(
      manager,
      `SELECT id, attempt, queue, priority, run_at, concurrency_key FROM job
       WHERE status IN ('queued', 'failed') AND id IN (${missed.map(() => '?').join(', ')})`,
      missed,
    );
    for (const row of rows) {
      const retry = dispatchFromRow(row);
      if (retry.runAt <= now) retry.runAt = new Date(now.getTime() + BLOCKED_RETRY_MS);
      outcomes.set(retry.id, { kind: 'not-yet', retry });
    }
    return outcomes;
  }

  /**
   * The claim statement: among due waiting jobs matching `filter`, the first `limit` in priority
   * order whose concurrency key (if any) stays within its limit, counting the ones running and the
   * ones claimed in this same statement.
   */
  private claimWhere(
    manager: EntityManager,
    now: Date,
    filter: string,
    filterParams: unknown[],
    scan: number,
    limit: number,
  ): Promise<Job[]> {
    // Claims by id take them all: ordering them first would make the planner walk the whole
    // claim-order index looking for these ids, where the primary key finds them at once.
    const scanOrder = filter.startsWith('id IN') ? '' : 'ORDER BY priority DESC, run_at, id ';
    const skipLocked = this.postgres ? ' FOR UPDATE SKIP LOCKED' : '';
    return this.claimRows(
      manager,
      now,
      `id IN (
         SELECT w.id FROM (
           SELECT c.id, c.priority, c.run_at, c.concurrency_key, c.concurrency_limit,
             ROW_NUMBER() OVER (PARTITION BY c.concurrency_key ORDER BY c.priority DESC, c.run_at, c.id) AS rn
           FROM (
             SELECT id, priority, run_at, concurrency_key, concurrency_limit FROM job
             WHERE ${filter} AND status IN ('queued', 'failed') AND run_at <= ?
             ${scanOrder}LIMIT ?${skipLocked}
           ) c
         ) w
         WHERE w.concurrency_key IS NULL OR w.rn + (
           SELECT count(*) FROM job r WHERE r.concurrency_key = w.concurrency_key AND r.status = 'running'
         ) <= w.concurrency_limit
         ORDER BY w.priority DESC, w.run_at, w.id LIMIT ?
       )`,
      [...filterParams, now, scan, limit],
      limit,
    );
  }

  /** Claims due waiting jobs by id that have no concurrency key: a plain, cheap-to-plan UPDATE. */
  private claimUnkeyed(manager: EntityManager, now: Date, ids: string[], relaxed: string): Promise<Job[]> {
    return this.claimRows(
      manager,
      now,
      `id IN (${ids.map(() => '?').join(', ')}) AND concurrency_key IS NULL
       AND status IN ('queued', 'failed') AND run_at <= ?${relaxed}`,
      [...ids, now],
      ids.length,
    );
  }

  /** Marks the rows `where` picks as running under this worker's lease, with an attempt row each. */
  private async claimRows(
    manager: EntityManager,
    now: Date,
    where: string,
    whereParams: unknown[],
    limit: number,
  ): Promise<Job[]> {
    const postgres = this.postgres;
    // PostgreSQL writes the attempt rows in the same statement; SQLite cannot, so it inserts them after.
    const [withClaimed, returning] = postgres
      ? [
          'WITH claimed AS (',
          `RETURNING *), attempts AS (
             INSERT INTO job_attempt (id, job_id, attempt, worker, outcome, started_at)
             SELECT (?::uuid[])[n], id, attempt, lease_owner, 'running', started_now
             FROM (SELECT id, attempt, lease_owner, ?::timestamptz AS started_now, row_number() OVER () AS n FROM claimed) c
           ) SELECT * FROM claimed`,
        ]
      : ['', 'RETURNING *'];
    const attemptParams = postgres ? [Array.from({ length: limit }, () => newId()), now] : [];
    const { rows } = await rawSql(
      manager,
      `${withClaimed}UPDATE job SET status = 'running', lease_owner = ?, lease_expires_at = ?, attempt = attempt + 1,
         started_at = COALESCE(started_at, ?)
       WHERE ${where}
       ${returning}`,
      [this.workerId, this.leaseEnd(now), now, ...whereParams, ...attemptParams],
    );
    const jobs = rows.map(jobFromRow).sort(byClaimOrder);
    if (!postgres) await this.insertAttempts(manager, jobs, now);
    return jobs;
  }

  /**
   * Records how an attempt ended. Outcomes that arrive together are written in one transaction
   * (on SQLite every transaction waits its turn, so fewer, larger ones go faster).
   */
  record(job: Job, result: AttemptResult): Promise<Recorded> {
    return this.outcomes.submit({ job, result });
  }

  private recordGroup(group: { job: Job; result: AttemptResult }[]): Promise<Recorded[]> {
    // In id order, as lease renewal locks them, so the two cannot deadlock on PostgreSQL.
    const sorted = [...group].sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
    const allSucceeded = group.every((item) => item.result.kind === 'succeeded');
    if (this.postgres && allSucceeded && !this.hooks.wants('succeeded')) {
      // The common case is one statement, a transaction of its own.
      return retryOnDeadlock(async () => {
        const done = await this.applySuccesses(this.dataSource.manager, sorted, this.clock.now(), RELAXED);
        return group.map((item) => (done.has(item.job.id) ? SUCCEEDED : NOT_RECORDED));
      });
    }
    return retryOnDeadlock(() =>
      this.serializer.transaction(async (manager) => {
        await this.relaxDurability(manager);
        const now = this.clock.now();
        const out = new Map<(typeof group)[number], Recorded>();
        const successes = sorted.filter((item) => item.result.kind === 'succeeded');
        if (successes.length > 1) {
          const done = this.postgres
            ? await this.applySuccesses(manager, successes, now, '')
            : await this.applySqliteSuccesses(manager, successes, now);
          for (const item of successes) out.set(item, done.has(item.job.id) ? SUCCEEDED : NOT_RECORDED);
        }
        for (const item of sorted) {
          if (!out.has(item)) out.set(item, await this.applyResult(manager, item.job, item.result, now));
        }
        await this.hooks.notify(
          manager,
          sorted.flatMap((item) => {
            const { status } = out.get(item)!;
            return status === 'succeeded' || status === 'dead'
              ? [finishedJob(item.job, status, item.result)]
              : [];
          }),
        );
        return group.map((item) => out.get(item)!);
      }),
    );
  }

  /** PostgreSQL: many successes, and their attempts, in one statement. */
  private async applySuccesses(
    manager: EntityManager,
    items: { job: Job; result: AttemptResult }[],
    now: Date,
    relaxed: string,
  ): Promise<Set<string>> {
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `WITH done AS (
         UPDATE job SET status = 'succeeded', result = v.result, finished_at = ?, lease_owner = NULL,
           lease_expires_at = NULL
         FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::int[]) AS attempt, unnest(?::text[]) AS result) v
         WHERE job.id = v.id AND job.attempt = v.attempt AND job.status = 'running' AND job.lease_owner = ?${relaxed}
         RETURNING job.id, job.attempt
       ), finished AS (
         UPDATE job_attempt SET outcome = 'succeeded', finished_at = ?
         FROM done WHERE job_attempt.job_id = done.id AND job_attempt.attempt = done.attempt
       )
       SELECT id FROM done`,
      [
        now,
        items.map((item) => item.job.id),
        items.map((item) => item.job.attempt),
        items.map((item) => (item.result.kind === 'succeeded' ? item.result.result : null)),
        this.workerId,
        now,
      ],
    );
    return new Set(rows.map((r) => String(r.id)));
  }

  /** SQLite: many successes in two statements, in chunks that keep under its parameter limit. */
  private async applySqliteSuccesses(
    manager: EntityManager,
    items: { job: Job; result: AttemptResult }[],
    now: Date,
  ): Promise<Set<string>> {
    const done = new Set<string>();
    for (let i = 0; i < items.length; i += SQLITE_OUTCOME_CHUNK) {
      const chunk = items.slice(i, i + SQLITE_OUTCOME_CHUNK);
      const { rows } = await rawSql<{ id: string; attempt: number }>(
        manager,
        `UPDATE job SET status = 'succeeded', result = v.result, finished_at = ?, lease_owner = NULL,
           lease_expires_at = NULL
         FROM (SELECT column1 AS id, column2 AS attempt, column3 AS result
               FROM (VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')})) AS v
         WHERE job.id = v.id AND job.attempt = v.attempt AND job.status = 'running' AND job.lease_owner = ?
         RETURNING id, attempt`,
        [
          now,
          ...chunk.flatMap(({ job, result }) => [
            job.id,
            job.attempt,
            result.kind === 'succeeded' ? result.result : null,
          ]),
          this.workerId,
        ],
      );
      if (rows.length === 0) continue;
      await rawSql(
        manager,
        `UPDATE job_attempt SET outcome = 'succeeded', finished_at = ?
         WHERE (job_id, attempt) IN (VALUES ${rows.map(() => '(?, ?)').join(', ')})`,
        [now, ...rows.flatMap((row) => [row.id, row.attempt])],
      );
      for (const row of rows) done.add(String(row.id));
    }
    return done;
  }

  private async applyResult(
    manager: EntityManager,
    job: Job,
    result: AttemptResult,
    now: Date,
  ): Promise<Recorded> {
    const fence = `id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?`;
    const fenceParams = [job.id, this.workerId, job.attempt];
    if (result.kind === 'succeeded') {
      const { affected } = await rawSql(
        manager,
        `UPDATE job SET status = 'succeeded', result = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE ${fence}`,
        [result.result, now, ...fenceParams],
      );
      if (affected !== 1) return { recorded: false, status: null, retry: null };
      await this.finishAttempt(manager, job, 'succeeded', now, null);
      return { recorded: true, status: 'succeeded', retry: null };
    }
    const { failure } = result;
    const decision = decideRetry(job, failure, now);
    const dead = decision.status === 'dead';
    const lastError: JobErrorSummary = { code: failure.code, message: failure.message };
    const { affected } = await rawSql(
      manager,
      `UPDATE job SET status = ?, run_at = ?, finished_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE ${fence}`,
      [decision.status, decision.runAt, dead ? now : null, JSON.stringify(lastError), ...fenceParams],
    );
    if (affected !== 1) return { recorded: false, status: null, retry: null };
    await this.finishAttempt(manager, job, 'failed', now, failure);
    return { recorded: true, status: decision.status, retry: dead ? null : dispatchOf(job, decision.runAt) };
  }

  /** Extends the leases of this worker's running jobs; returns the ids it still holds. */
  renewLeases(): Promise<Set<string>> {
    return this.serializer.transaction(async (manager) => {
      await this.relaxDurability(manager);
      // A row locked right now is being finished or cancelled: skip it rather than wait for it
      // (waiting could deadlock with an outcome group); its lease is renewed next time if need be.
      const skipLocked = this.postgres ? ' FOR UPDATE SKIP LOCKED' : '';
      await rawSql(
        manager,
        `UPDATE job SET lease_expires_at = ?
         WHERE id IN (SELECT id FROM job WHERE lease_owner = ? AND status = 'running'${skipLocked})`,
        [this.leaseEnd(this.clock.now()), this.workerId],
      );
      const { rows } = await rawSql<{ id: string }>(
        manager,
        `SELECT id FROM job WHERE lease_owner = ? AND status = 'running'`,
        [this.workerId],
      );
      return new Set(rows.map((r) => String(r.id)));
    });
  }

  /**
   * Puts back every job whose lease expired (its worker died or stalled): the attempt counts as
   * failed with LEASE_EXPIRED; the job runs again at once, or is dead if that was its last attempt.
   */
  expireLeases(): Promise<Dispatch[]> {
    return this.serializer.transaction(async (manager) => {
      const now = this.clock.now();
      const lastError = JSON.stringify({
        code: 'LEASE_EXPIRED',
        message: 'the worker stopped renewing its lease',
      } satisfies JobErrorSummary);
      const expired = `status = 'running' AND lease_expires_at < ?`;
      const dead = await rawSql<{
        id: string;
        type: string;
        queue: string;
        attempt: number;
        event_id: string | null;
      }>(
        manager,
        `UPDATE job SET status = 'dead', finished_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE ${expired} AND attempt >= max_attempts
         RETURNING id, type, queue, attempt, event_id`,
        [now, lastError, now],
      );
      const requeued = await rawSql<Record<string, unknown>>(
        manager,
        `UPDATE job SET status = 'queued', run_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE ${expired}
         RETURNING id, attempt, queue, priority, run_at, concurrency_key`,
        [now, lastError, now],
      );
      for (const row of [...dead.rows, ...requeued.rows]) {
        await rawSql(
          manager,
          `UPDATE job_attempt SET outcome = 'failed', finished_at = ?, error_code = 'LEASE_EXPIRED',
             error_message = 'the worker stopped renewing its lease'
           WHERE job_id = ? AND outcome = 'running'`,
          [now, row.id],
        );
      }
      await this.hooks.notify(
        manager,
        dead.rows.map((row) => ({
          id: String(row.id),
          type: row.type,
          queue: row.queue,
          status: 'dead' as const,
          attempts: Number(row.attempt),
          eventId: row.event_id === null ? null : String(row.event_id),
          result: null,
          error: { code: 'LEASE_EXPIRED', message: 'the worker stopped renewing its lease' },
        })),
      );
      return requeued.rows.map(dispatchFromRow);
    });
  }

  /** Shutdown: hands this worker's unfinished jobs back at once, the attempt marked interrupted. */
  release(ids: string[]): Promise<Dispatch[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.serializer.transaction(async (manager) => {
      const now = this.clock.now();
      const released: Dispatch[] = [];
      for (const id of ids) {
        const { rows } = await rawSql<Record<string, unknown>>(
          manager,
          `UPDATE job SET status = 'queued', run_at = ?, lease_owner = NULL, lease_expires_at = NULL
           WHERE id = ? AND status = 'running' AND lease_owner = ?
           RETURNING id, queue, priority, run_at, attempt, concurrency_key`,
          [now, id, this.workerId],
        );
        if (rows.length === 0) continue;
        await rawSql(
          manager,
          `UPDATE job_attempt SET outcome = 'interrupted', finished_at = ?, error_code = 'SHUTDOWN',
             error_message = 'the worker shut down before the job finished' WHERE job_id = ? AND attempt = ?`,
          [now, id, rows[0].attempt],
        );
        released.push(dispatchFromRow(rows[0]));
      }
      return released;
    });
  }

  /** Writes progress while this worker holds the job. */
  async setProgress(job: Job, value: number): Promise<void> {
    await this.serializer.transaction((manager) =>
      rawSql(
        manager,
        `UPDATE job SET progress = ? WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?`,
        [value, job.id, this.workerId, job.attempt],
      ),
    );
  }

  async appendLog(job: Job, message: string): Promise<void> {
    await this.serializer.transaction((manager) =>
      rawSql(manager, `INSERT INTO job_log (id, job_id, attempt, message, at) VALUES (?, ?, ?, ?, ?)`, [
        newId(),
        job.id,
        job.attempt,
        message,
        this.clock.now(),
      ]),
    );
  }

  /** The results of the steps a job completed in earlier attempts, by name. */
  async completedSteps(jobId: string, manager: EntityManager): Promise<Map<string, unknown>> {
    const { rows } = await rawSql<{ name: string; result: string | null }>(
      manager,
      `SELECT name, result FROM job_step WHERE job_id = ?`,
      [jobId],
    );
    return new Map(rows.map((r) => [r.name, r.result === null ? undefined : JSON.parse(r.result)]));
  }

  /** Stores a completed step, if this worker still holds the job; returns false otherwise. */
  saveStep(job: Job, name: string, result: string | null): Promise<boolean> {
    return this.serializer.transaction(async (manager) => {
      const { rows } = await rawSql(
        manager,
        `SELECT id FROM job WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?`,
        [job.id, this.workerId, job.attempt],
      );
      if (rows.length === 0) return false;
      await rawSql(
        manager,
        `INSERT INTO job_step (id, job_id, name, result, attempt, completed_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [newId(), job.id, name, result, job.attempt, this.clock.now()],
      );
      return true;
    });
  }

  private async insertAttempts(manager: EntityManager, jobs: Job[], now: Date): Promise<void> {
    if (jobs.length === 0) return;
    const values = jobs.map(() => `(?, ?, ?, ?, 'running', ?)`).join(', ');
    const params = jobs.flatMap((job) => [newId(), job.id, job.attempt, this.workerId, now]);
    await rawSql(
      manager,
      `INSERT INTO job_attempt (id, job_id, attempt, worker, outcome, started_at) VALUES ${values}`,
      params,
    );
  }

  private async finishAttempt(
    manager: EntityManager,
    job: Job,
    outcome: 'succeeded' | 'failed',
    now: Date,
    failure: FailureVerdict | null,
  ): Promise<void> {
    await rawSql(
      manager,
      `UPDATE job_attempt SET outcome = ?, finished_at = ?, error_code = ?, error_message = ?, error_stack = ?
       WHERE job_id = ? AND attempt = ?`,
      [
        outcome,
        now,
        failure?.code ?? null,
        failure?.message ?? null,
        failure?.stack ?? null,
        job.id,
        job.attempt,
      ],
    );
  }

  /**
   * PostgreSQL: this transaction's commit need not wait for the disk. Used for claims, outcomes and
   * lease renewals only: if the database crashes and loses one of those, the job is found running
   * with an expired lease, or still queued, and runs again, as at-least-once allows. Enqueues and
   * cancels stay fully durable.
   */
  private async relaxDurability(manager: EntityManager): Promise<void> {
    if (this.postgres) await rawSql(manager, `SELECT set_config('synchronous_commit', 'off', true)`);
  }

  private leaseEnd(now: Date): Date {
    return new Date(now.getTime() + this.config.jobs.leaseMs);
  }
}

const SUCCEEDED: Recorded = { recorded: true, status: 'succeeded', retry: null };
const NOT_RECORDED: Recorded = { recorded: false, status: null, retry: null };

/**
 * PostgreSQL, inside a single statement that is its own transaction: its commit need not wait for
 * the disk (see `relaxDurability`). Evaluated once, as an init plan.
 */
const RELAXED = ` AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`;

const DEADLOCK_RETRIES = 3;
/** Successes per SQLite statement: three parameters each, well under SQLite's limit. */
const SQLITE_OUTCOME_CHUNK = 300;

/** PostgreSQL aborts one of two deadlocked transactions (40P01); running it again succeeds. */
async function retryOnDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { driverError?: { code?: string } }).driverError?.code;
      if (code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw error;
    }
  }
}

function finishedJob(job: Job, status: FinalStatus, result: AttemptResult): FinishedJob {
  return {
    id: job.id,
    type: job.type,
    queue: job.queue,
    status,
    attempts: job.attempt,
    eventId: job.eventId,
    result: result.kind === 'succeeded' ? parseJson(result.result) : null,
    error: result.kind === 'failed' ? { code: result.failure.code, message: result.failure.message } : null,
  };
}

function byClaimOrder(a: Job, b: Job): number {
  return b.priority - a.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : 1);
}

function parseJson(value: unknown): unknown {
  return value === null || value === undefined ? null : JSON.parse(sqlText(value));
}

/** What a transport needs, from a job row read by raw SQL. */
export function dispatchFromRow(row: Record<string, unknown>): Dispatch {
  return dispatchOf({
    id: String(row.id),
    attempt: Number(row.attempt),
    queue: String(row.queue),
    priority: Number(row.priority),
    runAt: readTimestamp(row.run_at)!,
    concurrencyKey:
      row.concurrency_key === null || row.concurrency_key === undefined ? null : sqlText(row.concurrency_key),
  });
}

/** A job row read by raw SQL (RETURNING *), converted as TypeORM would. */
export function jobFromRow(row: Record<string, unknown>): Job {
  const job = new Job();
  const nullableNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const nullableString = (v: unknown) => (v === null || v === undefined ? null : sqlText(v));
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
  job.idempotencyKey = nullableString(row.idempotency_key);
  job.concurrencyKey = nullableString(row.concurrency_key);
  job.concurrencyLimit = Number(row.concurrency_limit);
  job.leaseOwner = nullableString(row.lease_owner);
  job.leaseExpiresAt = readTimestamp(row.lease_expires_at);
  job.progress = nullableNumber(row.progress);
  job.result = parseJson(row.result);
  job.lastError = parseJson(row.last_error) as JobErrorSummary | null;
  job.createdAt = readTimestamp(row.created_at)!;
  job.startedAt = readTimestamp(row.started_at);
  job.finishedAt = readTimestamp(row.finished_at);
  job.eventId = nullableString(row.event_id);
  return job;
}
