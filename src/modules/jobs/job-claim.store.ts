import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { notIndexed, rawSql, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import type { Dispatch } from './job-dispatch.js';
import type { Job } from './job.entity.js';
import { dispatchFromRow, jobFromRow } from './job.store.js';
import { durabilityCondition, LedgerTransactions } from './ledger-transactions.store.js';
import type { StatementOptions } from './ledger-transactions.store.js';
import { LeaseOwner } from './lease-owner.js';

/** What a claim of jobs by id found. */
export interface IdClaim {
  /** Claimed: now running under this worker's lease. */
  claimed: Job[];
  /** Not claimed but still waiting (not due, or their concurrency key is at its limit). */
  waiting: Dispatch[];
  /** The time the claim was made at. */
  at: Date;
}

/**
 * Which waiting jobs a claim looks at first. `claim-order` (highest priority, then oldest runAt)
 * walks the claim-order index; `as-given` suits a list of ids, which the primary key finds at
 * once, where ordering them first would make the planner walk that whole index looking for them.
 */
type ScanOrder = 'claim-order' | 'as-given';

/** The waiting jobs a claim may take: a WHERE condition on the job table and its parameters. */
interface Candidates {
  where: string;
  params: unknown[];
  order: ScanOrder;
}

/** How many waiting jobs a claim looks at, so concurrency-key limits can skip some and still fill the batch. */
const CLAIM_SCAN_FACTOR = 4;
const MIN_CLAIM_SCAN = 50;

/**
 * Claims: the statements that turn waiting jobs into running ones under this worker's lease,
 * each with an attempt row, keeping every concurrency key within its limit.
 */
@Injectable()
export class JobClaimStore {
  private readonly postgres: boolean;

  constructor(
    private readonly transactions: LedgerTransactions,
    private readonly owner: LeaseOwner,
    private readonly clock: Clock,
    config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    this.postgres = config.database.kind === 'postgres';
  }

  /** Claims up to `limit` due jobs of a queue in priority order, in one statement. */
  claimQueue(queue: string, limit: number): Promise<Job[]> {
    return this.transactions.run(
      async (manager, now) => {
        // On PostgreSQL, claims of one queue take turns; jobs with a concurrency key take their keys' turns too (below).
        if (this.postgres) {
          await rawSql(manager, `SELECT pg_advisory_xact_lock(hashtext(?))`, [`junction.claim:${queue}`]);
        }
        // The next jobs in claim order; when none has a concurrency key (the common case) they are
        // claimed by id, a plain UPDATE far cheaper than the statement that counts keys' running jobs.
        const { rows } = await rawSql(
          manager,
          `SELECT id, concurrency_key FROM job
           WHERE queue = ? AND status IN ('queued', 'failed') AND run_at <= ?
           ORDER BY priority DESC, run_at, id LIMIT ?`,
          [queue, now, limit],
        );
        if (rows.length === 0) return [];
        if (rows.every((row) => row.concurrency_key === null)) {
          return this.claimUnkeyed(
            manager,
            now,
            rows.map((row) => sqlText(row.id)),
          );
        }
        const scan = Math.max(MIN_CLAIM_SCAN, limit * CLAIM_SCAN_FACTOR);
        if (!this.postgres) {
          return this.claimWithinKeyLimits(
            manager,
            now,
            { where: 'queue = ?', params: [queue], order: 'claim-order' },
            scan,
            limit,
          );
        }
        // A key's jobs may sit in several queues, and Bull claims by id, so the queue's turn alone
        // does not keep a key's count exact: take the keys' turns too, and claim only jobs of
        // those keys (or of none), as jobs of other keys may have come due since.
        const { rows: keys } = await rawSql(
          manager,
          `SELECT DISTINCT concurrency_key AS k FROM (
             SELECT concurrency_key FROM job
             WHERE queue = ? AND status IN ('queued', 'failed') AND run_at <= ?
             ORDER BY priority DESC, run_at, id LIMIT ?
           ) candidates WHERE concurrency_key IS NOT NULL`,
          [queue, now, scan],
        );
        const locked = keys.map((row) => sqlText(row.k));
        await lockKeys(manager, `SELECT unnest(?::text[]) AS k`, [locked]);
        return this.claimWithinKeyLimits(
          manager,
          now,
          {
            where: 'queue = ? AND (concurrency_key IS NULL OR concurrency_key = ANY(?::text[]))',
            params: [queue, locked],
            order: 'claim-order',
          },
          scan,
          limit,
        );
      },
      { durability: 'relaxed' },
    );
  }

  /** Claims these jobs (ids without repeats) if they are due; `keyed`: some have a concurrency key. */
  async claimByIds(ids: string[], keyed: boolean): Promise<IdClaim> {
    if (this.postgres && !keyed) {
      // One statement is a transaction of its own: no BEGIN and COMMIT round trips.
      const manager = this.dataSource.manager;
      const now = this.clock.now();
      const claimed = await this.claimUnkeyed(manager, now, ids, { durability: 'relaxed' });
      return { claimed, waiting: await this.stillWaiting(manager, ids, claimed), at: now };
    }
    return this.transactions.run(
      async (manager, now) => {
        const list = sqlPlaceholders(ids.length);
        if (keyed && this.postgres) {
          // Jobs with a concurrency key take turns per key.
          await lockKeys(
            manager,
            `SELECT DISTINCT concurrency_key AS k FROM job WHERE id IN (${list}) AND concurrency_key IS NOT NULL`,
            ids,
          );
        }
        const claimed = keyed
          ? await this.claimWithinKeyLimits(
              manager,
              now,
              { where: `id IN (${list})`, params: ids, order: 'as-given' },
              ids.length,
              ids.length,
            )
          : await this.claimUnkeyed(manager, now, ids);
        return { claimed, waiting: await this.stillWaiting(manager, ids, claimed), at: now };
      },
      { durability: 'relaxed' },
    );
  }

  /** Those of `ids` not claimed that are still waiting to run. */
  private async stillWaiting(manager: EntityManager, ids: string[], claimed: Job[]): Promise<Dispatch[]> {
    const taken = new Set(claimed.map((job) => job.id));
    const missed = ids.filter((id) => !taken.has(id));
    if (missed.length === 0) return [];
    const { rows } = await rawSql<Record<string, unknown>>(
      manager,
      `SELECT id, attempt, queue, priority, run_at, concurrency_key FROM job
       WHERE ${notIndexed('status', this.postgres)} IN ('queued', 'failed') AND id IN (${sqlPlaceholders(missed.length)})`,
      missed,
    );
    return rows.map(dispatchFromRow);
  }

  /**
   * The claim statement: among due waiting candidates, the first `limit` in priority order whose
   * concurrency key (if any) stays within its limit, counting the ones running and the ones
   * claimed in this same statement. It looks at `scan` candidates at most.
   */
  private claimWithinKeyLimits(
    manager: EntityManager,
    now: Date,
    candidates: Candidates,
    scan: number,
    limit: number,
  ): Promise<Job[]> {
    const scanOrder = candidates.order === 'claim-order' ? 'ORDER BY priority DESC, run_at, id ' : '';
    // A queue's claim walks the partial claim-order index, which needs the plain status term.
    const status = candidates.order === 'as-given' ? notIndexed('status', this.postgres) : 'status';
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
             WHERE ${candidates.where} AND ${status} IN ('queued', 'failed') AND run_at <= ?
             ${scanOrder}LIMIT ?${skipLocked}
           ) c
         ) w
         WHERE w.concurrency_key IS NULL OR w.rn + (
           SELECT count(*) FROM job r WHERE r.concurrency_key = w.concurrency_key AND r.status = 'running'
         ) <= w.concurrency_limit
         ORDER BY w.priority DESC, w.run_at, w.id LIMIT ?
       )`,
      [...candidates.params, now, scan, limit],
      limit,
    );
  }

  /** Claims due waiting jobs by id that have no concurrency key: a plain, cheap-to-plan UPDATE. */
  private claimUnkeyed(
    manager: EntityManager,
    now: Date,
    ids: string[],
    options: StatementOptions = {},
  ): Promise<Job[]> {
    return this.claimRows(
      manager,
      now,
      `id IN (${sqlPlaceholders(ids.length)}) AND concurrency_key IS NULL
       AND ${notIndexed('status', this.postgres)} IN ('queued', 'failed') AND run_at <= ?${durabilityCondition(options)}`,
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
      [this.owner.workerId, this.owner.leaseEnd(now), now, ...whereParams, ...attemptParams],
    );
    const jobs = rows.map(jobFromRow).sort(byClaimOrder);
    if (!postgres) await this.insertAttempts(manager, jobs, now);
    return jobs;
  }

  private async insertAttempts(manager: EntityManager, jobs: Job[], now: Date): Promise<void> {
    if (jobs.length === 0) return;
    const values = jobs.map(() => `(?, ?, ?, ?, 'running', ?)`).join(', ');
    const params = jobs.flatMap((job) => [newId(), job.id, job.attempt, this.owner.workerId, now]);
    await rawSql(
      manager,
      `INSERT INTO job_attempt (id, job_id, attempt, worker, outcome, started_at) VALUES ${values}`,
      params,
    );
  }
}

/**
 * Waits for the turn of each concurrency key `keys` selects (column `k`), PostgreSQL only. Every
 * claim takes key locks in the order of their lock numbers, and after any queue lock, never
 * before: so no two claims wait on each other.
 */
async function lockKeys(manager: EntityManager, keys: string, params: unknown[]): Promise<void> {
  await rawSql(
    manager,
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtext(k) AS h FROM (${keys}) keys ORDER BY 1
     ) locks`,
    params,
  );
}

function byClaimOrder(a: Job, b: Job): number {
  return b.priority - a.priority || a.runAt.getTime() - b.runAt.getTime() || (a.id < b.id ? -1 : 1);
}
