import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { nullableSqlText, rawSql, readTimestamp, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';

export const RUN_STATUSES = ['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run as stored: the status written by its job, which `SyncsService` reconciles with the job's state. */
export interface SyncRun {
  id: string;
  syncId: string;
  connectionId: string;
  type: string;
  status: RunStatus;
  itemsSeen: number;
  itemsAdded: number;
  itemsUpdated: number;
  itemsDeleted: number;
  checkpointBefore: string | null;
  checkpointAfter: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  jobId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface Sync {
  id: string;
  accountId: string;
  requestedAt: Date;
  /** The runs that answer it: its own, and runs of the same pairs that were already going. */
  runIds: string[];
}

/**
 * Where a run cut short goes on: `page`, the partner's token of the page after the last one
 * stored, is only good for the query it came from, built from `cursor` over the date range `range`
 * (its `rangeKey`) with the connection's config for the type as `config` (its `readConfigKey`).
 * Points stored before `config` was kept have none, and match no config.
 */
export interface ResumePoint {
  page: string;
  cursor: string | null;
  range: string;
  config?: string;
}

/** What one page of records changed. */
export interface PageCounts {
  seen: number;
  added: number;
  updated: number;
}

/** Syncs, their runs and the checkpoints runs resume from. Methods that take a manager join its transaction. */
@Injectable()
export class SyncStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertSync(manager: EntityManager, sync: Sync): Promise<void> {
    await rawSql(manager, `INSERT INTO sync (id, account_id, requested_at, run_ids) VALUES (?, ?, ?, ?)`, [
      sync.id,
      sync.accountId,
      sync.requestedAt,
      JSON.stringify(sync.runIds),
    ]);
  }

  async setRuns(manager: EntityManager, sync: Sync): Promise<void> {
    await rawSql(manager, `UPDATE sync SET run_ids = ? WHERE id = ?`, [JSON.stringify(sync.runIds), sync.id]);
  }

  async findSync(id: string): Promise<Sync | null> {
    const { rows } = await rawSql(this.dataSource.manager, `SELECT * FROM sync WHERE id = ?`, [id]);
    if (rows.length === 0) return null;
    return {
      id: String(rows[0].id),
      accountId: String(rows[0].account_id),
      requestedAt: readTimestamp(rows[0].requested_at)!,
      runIds: JSON.parse(sqlText(rows[0].run_ids)) as string[],
    };
  }

  /**
   * Inserts a queued (or paused) run unless one of its connection and type is queued, running or
   * paused already (the partial unique index decides, so two requests at once make one run);
   * whether it was inserted.
   */
  async insertRunUnlessActive(manager: EntityManager, run: SyncRun): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `INSERT INTO sync_run (id, sync_id, connection_id, type, status, checkpoint_before, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [run.id, run.syncId, run.connectionId, run.type, run.status, run.checkpointBefore, run.createdAt],
    );
    return affected === 1;
  }

  /**
   * Pauses the connection's runs that have not started: they keep their place, and their jobs,
   * finding them paused, do nothing. Answers the runs paused with the jobs they had.
   */
  async pauseQueued(
    manager: EntityManager,
    connectionId: string,
  ): Promise<{ runId: string; jobId: string | null }[]> {
    const { rows } = await rawSql(
      manager,
      `SELECT id, job_id FROM sync_run WHERE connection_id = ? AND status = 'queued' AND started_at IS NULL`,
      [connectionId],
    );
    const paused = rows.map((row) => ({ runId: String(row.id), jobId: nullableSqlText(row.job_id) }));
    if (paused.length > 0) {
      await rawSql(
        manager,
        `UPDATE sync_run SET status = 'paused', job_id = NULL
         WHERE id IN (${sqlPlaceholders(paused.length)}) AND status = 'queued'`,
        paused.map((run) => run.runId),
      );
    }
    return paused;
  }

  /** The connection's paused runs, oldest first. */
  async pausedRuns(manager: EntityManager, connectionId: string): Promise<SyncRun[]> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM sync_run WHERE connection_id = ? AND status = 'paused' ORDER BY id`,
      [connectionId],
    );
    return rows.map(runFromRow);
  }

  /** A paused run goes back in the queue with its new job. */
  async requeue(manager: EntityManager, runId: string, jobId: string): Promise<void> {
    await rawSql(
      manager,
      `UPDATE sync_run SET status = 'queued', job_id = ? WHERE id = ? AND status = 'paused'`,
      [jobId, runId],
    );
  }

  async activeRun(
    connectionId: string,
    type: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SyncRun | null> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM sync_run WHERE connection_id = ? AND type = ? AND status IN ('queued', 'running', 'paused')`,
      [connectionId, type],
    );
    return rows.length === 0 ? null : runFromRow(rows[0]);
  }

  async findRun(id: string, manager: EntityManager = this.dataSource.manager): Promise<SyncRun | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM sync_run WHERE id = ?`, [id]);
    return rows.length === 0 ? null : runFromRow(rows[0]);
  }

  /** The runs of these ids: a sync's. */
  async runsById(ids: string[]): Promise<SyncRun[]> {
    if (ids.length === 0) return [];
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM sync_run WHERE id IN (${sqlPlaceholders(ids.length)}) ORDER BY id`,
      ids,
    );
    return rows.map(runFromRow);
  }

  /** The latest run of a connection and type, and when one last succeeded. */
  async latest(
    connectionId: string,
    type: string,
  ): Promise<{ run: SyncRun | null; succeededAt: Date | null }> {
    const manager = this.dataSource.manager;
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM sync_run WHERE connection_id = ? AND type = ? ORDER BY id DESC LIMIT 1`,
      [connectionId, type],
    );
    const { rows: succeeded } = await rawSql(
      manager,
      `SELECT max(finished_at) AS at FROM sync_run WHERE connection_id = ? AND type = ? AND status = 'succeeded'`,
      [connectionId, type],
    );
    return {
      run: rows.length === 0 ? null : runFromRow(rows[0]),
      succeededAt: readTimestamp(succeeded[0]?.at),
    };
  }

  /** The newest runs of these connections (at most `limit`), only those stored with these statuses if given. */
  async runsOfConnections(
    connectionIds: string[],
    statuses: RunStatus[] | null,
    limit: number,
  ): Promise<SyncRun[]> {
    if (connectionIds.length === 0) return [];
    const only = statuses ? ` AND status IN (${sqlPlaceholders(statuses.length)})` : '';
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM sync_run WHERE connection_id IN (${sqlPlaceholders(connectionIds.length)})${only}
       ORDER BY id DESC LIMIT ?`,
      [...connectionIds, ...(statuses ?? []), limit],
    );
    return rows.map(runFromRow);
  }

  /** How many of the latest runs of a connection and type failed, since one last succeeded or was cancelled. */
  async failuresInARow(manager: EntityManager, connectionId: string, type: string): Promise<number> {
    const { rows: last } = await rawSql(
      manager,
      `SELECT id FROM sync_run WHERE connection_id = ? AND type = ? AND status IN ('succeeded', 'cancelled')
       ORDER BY id DESC LIMIT 1`,
      [connectionId, type],
    );
    const since = last.length === 0 ? '' : ' AND id > ?';
    const { rows } = await rawSql(
      manager,
      `SELECT count(*) AS failed FROM sync_run WHERE connection_id = ? AND type = ? AND status = 'failed'${since}`,
      last.length === 0 ? [connectionId, type] : [connectionId, type, String(last[0].id)],
    );
    return Number(rows[0].failed);
  }

  async setJob(manager: EntityManager, runId: string, jobId: string): Promise<void> {
    await rawSql(manager, `UPDATE sync_run SET job_id = ? WHERE id = ?`, [jobId, runId]);
  }

  /** The run has started (or started again after a retry, keeping its first start). */
  async markRunning(runId: string, at: Date): Promise<void> {
    await rawSql(
      this.dataSource.manager,
      `UPDATE sync_run SET status = 'running', started_at = COALESCE(started_at, ?)
       WHERE id = ? AND status IN ('queued', 'running')`,
      [at, runId],
    );
  }

  /**
   * Adds a page's counts to the run, with the checkpoint stored beside them and where the run goes
   * on if it is cut short (null: the read had no page after it).
   */
  async addPage(
    manager: EntityManager,
    runId: string,
    counts: PageCounts,
    checkpoint: string | null,
    resume: ResumePoint | null,
  ): Promise<void> {
    await rawSql(
      manager,
      `UPDATE sync_run SET items_seen = items_seen + ?, items_added = items_added + ?,
         items_updated = items_updated + ?, checkpoint_after = COALESCE(?, checkpoint_after), resume = ?
       WHERE id = ?`,
      [counts.seen, counts.added, counts.updated, checkpoint, resume && JSON.stringify(resume), runId],
    );
  }

  /** Where the run goes on after being cut short; null when it starts from its first page. */
  async resumePoint(runId: string): Promise<ResumePoint | null> {
    const { rows } = await rawSql(this.dataSource.manager, `SELECT resume FROM sync_run WHERE id = ?`, [
      runId,
    ]);
    const resume = rows.length === 0 ? null : nullableSqlText(rows[0].resume);
    return resume === null ? null : (JSON.parse(resume) as ResumePoint);
  }

  /** The run's saved page token is not to be used again: a run cut short now goes on from its checkpoint. */
  async forgetResume(manager: EntityManager, runId: string): Promise<void> {
    await rawSql(manager, `UPDATE sync_run SET resume = NULL WHERE id = ?`, [runId]);
  }

  async addDeleted(manager: EntityManager, runId: string, deleted: number): Promise<void> {
    await rawSql(manager, `UPDATE sync_run SET items_deleted = items_deleted + ? WHERE id = ?`, [
      deleted,
      runId,
    ]);
  }

  /** Deletes the checkpoints of these types, so their next run is a full sync; how many. */
  async clearCheckpoints(manager: EntityManager, connectionId: string, types: string[]): Promise<number> {
    if (types.length === 0) return 0;
    const { affected } = await rawSql(
      manager,
      `DELETE FROM sync_checkpoint WHERE connection_id = ? AND type IN (${sqlPlaceholders(types.length)})`,
      [connectionId, ...types],
    );
    return affected;
  }

  /** Forgets what a run saw, once it has ended: only its sweep needed it. */
  async forgetSeen(manager: EntityManager, runId: string): Promise<void> {
    await rawSql(manager, `DELETE FROM sync_run_seen WHERE run_id = ?`, [runId]);
  }

  /** Ends a run that is still queued, running or paused; whether it did. */
  async finish(
    manager: EntityManager,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: { code: string; message: string } | null,
    at: Date,
  ): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE sync_run SET status = ?, error_code = ?, error_message = ?, finished_at = ?, resume = NULL
       WHERE id = ? AND status IN ('queued', 'running', 'paused')`,
      [status, error?.code ?? null, error?.message ?? null, at, runId],
    );
    return affected === 1;
  }

  /**
   * Where the next run of a connection and type resumes: the checkpoint stored for the same date
   * range (`rangeKey`). One stored for another range is not used, so a widened range is read whole.
   */
  async checkpoint(connectionId: string, type: string, rangeKey: string): Promise<string | null> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT value, range_key FROM sync_checkpoint WHERE connection_id = ? AND type = ?`,
      [connectionId, type],
    );
    return rows.length === 0 || sqlText(rows[0].range_key) !== rangeKey ? null : sqlText(rows[0].value);
  }

  async saveCheckpoint(
    manager: EntityManager,
    connectionId: string,
    type: string,
    value: string,
    rangeKey: string,
    at: Date,
  ): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO sync_checkpoint (connection_id, type, value, range_key, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (connection_id, type) DO UPDATE
         SET value = excluded.value, range_key = excluded.range_key, updated_at = excluded.updated_at`,
      [connectionId, type, value, rangeKey, at],
    );
  }
}

function runFromRow(row: Record<string, unknown>): SyncRun {
  return {
    id: String(row.id),
    syncId: String(row.sync_id),
    connectionId: String(row.connection_id),
    type: sqlText(row.type),
    status: sqlText(row.status) as RunStatus,
    itemsSeen: Number(row.items_seen),
    itemsAdded: Number(row.items_added),
    itemsUpdated: Number(row.items_updated),
    itemsDeleted: Number(row.items_deleted),
    checkpointBefore: nullableSqlText(row.checkpoint_before),
    checkpointAfter: nullableSqlText(row.checkpoint_after),
    errorCode: nullableSqlText(row.error_code),
    errorMessage: nullableSqlText(row.error_message),
    jobId: nullableSqlText(row.job_id),
    createdAt: readTimestamp(row.created_at)!,
    startedAt: readTimestamp(row.started_at),
    finishedAt: readTimestamp(row.finished_at),
  };
}
