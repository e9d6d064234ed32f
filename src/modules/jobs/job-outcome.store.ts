import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config.js';
import { inChunks, rawSql } from '../../database/raw-sql.js';
import type { FailureVerdict } from './job-failure.js';
import type { Job } from './job.entity.js';
import { LOG_ROWS_FROM_ARRAYS, logArrays } from './job-run.store.js';
import type { JobLogLine } from './job-run.store.js';
import type { JobErrorSummary } from './jobs.contract.js';
import { durabilityCondition } from './ledger-transactions.store.js';
import type { StatementOptions } from './ledger-transactions.store.js';
import { LeaseOwner } from './lease-owner.js';
import type { RetryDecision } from './retry-decision.js';

/** An attempt that succeeded, with its result as JSON. */
export interface Success {
  job: Job;
  result: string;
}

/** Successes per SQLite statement: three parameters each, well under SQLite's limit. */
const SQLITE_OUTCOME_CHUNK = 300;
/** The guard on every outcome: the job is still running this attempt under this worker's lease. */
const FENCE = `id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?`;

/**
 * Outcomes: how attempts ended, each write guarded by this worker's lease on that attempt, so a
 * result that arrives after a cancel, or after another worker took the job over, changes nothing.
 */
@Injectable()
export class JobOutcomeStore {
  /**
   * PostgreSQL records many successes and their attempts in one statement, which can run outside
   * any transaction (`succeedAlone`).
   */
  readonly canSucceedAlone: boolean;

  constructor(
    private readonly owner: LeaseOwner,
    config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.canSucceedAlone = config.database.kind === 'postgres';
  }

  /**
   * PostgreSQL only: records successes, and writes their attempts' log lines, in one statement that
   * is its own, relaxed, transaction.
   */
  succeedAlone(successes: Success[], logs: JobLogLine[], now: Date): Promise<Set<string>> {
    return this.succeedInOneStatement(
      this.dataSource.manager,
      successes,
      now,
      { durability: 'relaxed' },
      logs,
    );
  }

  /** Records many successes at once; returns the ids of the jobs this worker still held. */
  succeedMany(manager: EntityManager, successes: Success[], now: Date): Promise<Set<string>> {
    return this.canSucceedAlone
      ? this.succeedInOneStatement(manager, successes, now)
      : this.succeedInChunks(manager, successes, now);
  }

  /** Records one success; false when the job was no longer this worker's. */
  async succeed(manager: EntityManager, job: Job, result: string, now: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE job SET status = 'succeeded', result = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE ${FENCE}`,
      [result, now, ...this.fenceParams(job)],
    );
    if (affected !== 1) return false;
    await this.finishAttempt(manager, job, 'succeeded', now, null);
    return true;
  }

  /**
   * Records a failed attempt as `decision` says (retry later, dead, or deferred); false when the
   * job was no longer this worker's. A deferral queues the job again with one more attempt allowed
   * (the claim numbered this attempt, and attempt numbers stay unique, so the allowance grows
   * instead), keeps the job's last error (a deferral is not one) and marks the attempt `deferred`.
   */
  async fail(
    manager: EntityManager,
    job: Job,
    failure: FailureVerdict,
    decision: RetryDecision,
    now: Date,
  ): Promise<boolean> {
    const dead = decision.status === 'dead';
    const deferred = decision.status === 'queued';
    const lastError: JobErrorSummary = { code: failure.code, message: failure.message };
    const { affected } = await rawSql(
      manager,
      `UPDATE job SET status = ?, run_at = ?, finished_at = ?, last_error = COALESCE(?, last_error),
         max_attempts = max_attempts + ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE ${FENCE}`,
      [
        decision.status,
        decision.runAt,
        dead ? now : null,
        deferred ? null : JSON.stringify(lastError),
        deferred ? 1 : 0,
        ...this.fenceParams(job),
      ],
    );
    if (affected !== 1) return false;
    // A deferral's stack says nothing: it is where the budget was found spent.
    await this.finishAttempt(
      manager,
      job,
      deferred ? 'deferred' : 'failed',
      now,
      deferred ? { ...failure, stack: null } : failure,
    );
    return true;
  }

  /** PostgreSQL: many successes, and their attempts, in one statement. */
  private async succeedInOneStatement(
    manager: EntityManager,
    successes: Success[],
    now: Date,
    options: StatementOptions = {},
    logs: JobLogLine[] = [],
  ): Promise<Set<string>> {
    // The log lines go in whether or not the lease still held, as they would have alone.
    const logged =
      logs.length > 0
        ? `, logged AS (INSERT INTO job_log (id, job_id, attempt, message, at) ${LOG_ROWS_FROM_ARRAYS})`
        : '';
    const { rows } = await rawSql<{ id: string }>(
      manager,
      `WITH done AS (
         UPDATE job SET status = 'succeeded', result = v.result, finished_at = ?, lease_owner = NULL,
           lease_expires_at = NULL
         FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::int[]) AS attempt, unnest(?::text[]) AS result) v
         WHERE job.id = v.id AND job.attempt = v.attempt AND job.status = 'running' AND job.lease_owner = ?${durabilityCondition(options)}
         RETURNING job.id, job.attempt
       ), finished AS (
         UPDATE job_attempt SET outcome = 'succeeded', finished_at = ?
         FROM done WHERE job_attempt.job_id = done.id AND job_attempt.attempt = done.attempt
       )${logged}
       SELECT id FROM done`,
      [
        now,
        successes.map((item) => item.job.id),
        successes.map((item) => item.job.attempt),
        successes.map((item) => item.result),
        this.owner.workerId,
        now,
        ...(logs.length > 0 ? logArrays(logs) : []),
      ],
    );
    return new Set(rows.map((r) => String(r.id)));
  }

  /** SQLite: many successes in two statements, in chunks that keep under its parameter limit. */
  private async succeedInChunks(
    manager: EntityManager,
    successes: Success[],
    now: Date,
  ): Promise<Set<string>> {
    const done = new Set<string>();
    for (const chunk of inChunks(successes, SQLITE_OUTCOME_CHUNK)) {
      const { rows } = await rawSql<{ id: string; attempt: number }>(
        manager,
        `UPDATE job SET status = 'succeeded', result = v.result, finished_at = ?, lease_owner = NULL,
           lease_expires_at = NULL
         FROM (SELECT column1 AS id, column2 AS attempt, column3 AS result
               FROM (VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')})) AS v
         WHERE job.id = v.id AND job.attempt = v.attempt AND job.status = 'running' AND job.lease_owner = ?
         RETURNING id, attempt`,
        [now, ...chunk.flatMap(({ job, result }) => [job.id, job.attempt, result]), this.owner.workerId],
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

  private async finishAttempt(
    manager: EntityManager,
    job: Job,
    outcome: 'succeeded' | 'failed' | 'deferred',
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

  private fenceParams(job: Job): unknown[] {
    return [job.id, this.owner.workerId, job.attempt];
  }
}
