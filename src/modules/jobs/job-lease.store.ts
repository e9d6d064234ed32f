import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app-config.js';
import { rawSql } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Clock } from '../../common/clock.js';
import type { Dispatch } from './job-dispatch.js';
import type { Job } from './job.entity.js';
import type { JobErrorSummary } from './jobs.contract.js';
import { dispatchFromRow } from './job.store.js';
import { LedgerTransactions } from './ledger-transactions.store.js';
import { LeaseOwner } from './lease-owner.js';

/** Why an attempt failed when its worker stopped renewing the lease. */
export const LEASE_EXPIRED: JobErrorSummary = {
  code: 'LEASE_EXPIRED',
  message: 'the worker stopped renewing its lease',
};

/** A job that was on its last attempt when its lease expired: it is dead now. */
export interface ExpiredJob {
  id: string;
  type: string;
  queue: string;
  attempts: number;
  eventId: string | null;
}

/** Leases: renewing this worker's, putting back jobs whose worker died, handing back jobs at shutdown. */
@Injectable()
export class JobLeaseStore {
  private readonly postgres: boolean;

  constructor(
    private readonly transactions: LedgerTransactions,
    private readonly serializer: WriteSerializer,
    private readonly owner: LeaseOwner,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.postgres = config.database.kind === 'postgres';
  }

  /** Extends the leases of this worker's running jobs; returns the ids it still holds. */
  renew(): Promise<Set<string>> {
    return this.transactions.run(
      async (manager) => {
        // A row locked right now is being finished or cancelled: skip it rather than wait for it
        // (waiting could deadlock with an outcome group); its lease is renewed next time if need be.
        const skipLocked = this.postgres ? ' FOR UPDATE SKIP LOCKED' : '';
        await rawSql(
          manager,
          `UPDATE job SET lease_expires_at = ?
           WHERE id IN (SELECT id FROM job WHERE lease_owner = ? AND status = 'running'${skipLocked})`,
          [this.owner.leaseEnd(this.clock.now()), this.owner.workerId],
        );
        const { rows } = await rawSql<{ id: string }>(
          manager,
          `SELECT id FROM job WHERE lease_owner = ? AND status = 'running'`,
          [this.owner.workerId],
        );
        return new Set(rows.map((r) => String(r.id)));
      },
      { durability: 'relaxed' },
    );
  }

  /**
   * Fails the running attempt of every job whose lease expired before `now` (LEASE_EXPIRED): a job
   * on its last attempt is dead, the others are queued to run at once.
   */
  async expire(manager: EntityManager, now: Date): Promise<{ dead: ExpiredJob[]; requeued: Dispatch[] }> {
    const lastError = JSON.stringify(LEASE_EXPIRED);
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
    return {
      dead: dead.rows.map((row) => ({
        id: String(row.id),
        type: row.type,
        queue: row.queue,
        attempts: Number(row.attempt),
        eventId: row.event_id === null ? null : String(row.event_id),
      })),
      requeued: requeued.rows.map(dispatchFromRow),
    };
  }

  /** Hands these of this worker's jobs back to run again at once, the attempt marked interrupted. */
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
          [now, id, this.owner.workerId],
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

  /**
   * Undoes claims of jobs that never started: each goes back to waiting with the attempt number it
   * had before, and the claim's attempt row is deleted, as if it had never been claimed.
   */
  unclaim(jobs: Job[]): Promise<Dispatch[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    return this.serializer.transaction(async (manager) => {
      const unclaimed: Dispatch[] = [];
      for (const job of jobs) {
        const { rows } = await rawSql<Record<string, unknown>>(
          manager,
          `UPDATE job SET status = 'queued', attempt = attempt - 1, lease_owner = NULL, lease_expires_at = NULL,
             started_at = CASE WHEN attempt = 1 THEN NULL ELSE started_at END
           WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?
           RETURNING id, queue, priority, run_at, attempt, concurrency_key`,
          [job.id, this.owner.workerId, job.attempt],
        );
        if (rows.length === 0) continue;
        await rawSql(manager, `DELETE FROM job_attempt WHERE job_id = ? AND attempt = ?`, [
          job.id,
          job.attempt,
        ]);
        unclaimed.push(dispatchFromRow(rows[0]));
      }
      return unclaimed;
    });
  }
}
