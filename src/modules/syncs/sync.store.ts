import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { nullableSqlText, rawSql, readTimestamp, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
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
   * Inserts a queued run unless one of its connection and type is queued or running already (the
   * partial unique index decides, so two requests at once make one run); whether it was inserted.
   */
  async insertRunUnlessActive(manager: EntityManager, run: SyncRun): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `INSERT INTO sync_run (id, sync_id, connection_id, type, status, checkpoint_before, created_at)
       VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT DO NOTHING`,
      [run.id, run.syncId, run.connectionId, run.type, run.checkpointBefore, run.createdAt],
    );
    return affected === 1;
  }

  async activeRun(
    connectionId: string,
    type: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SyncRun | null> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM sync_run WHERE connection_id = ? AND type = ? AND status IN ('queued', 'running')`,
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

  /** The statuses of the latest runs of a connection and type, newest first. */
  async recentStatuses(
    manager: EntityManager,
    connectionId: string,
    type: string,
    limit: number,
  ): Promise<RunStatus[]> {
    const { rows } = await rawSql(
      manager,
      `SELECT status FROM sync_run WHERE connection_id = ? AND type = ? ORDER BY id DESC LIMIT ?`,
      [connectionId, type, limit],
    );
    return rows.map((row) => sqlText(row.status) as RunStatus);
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

  /** Adds a page's counts to the run, with the checkpoint stored beside them. */
  async addPage(
    manager: EntityManager,
    runId: string,
    counts: PageCounts,
    checkpoint: string | null,
  ): Promise<void> {
    await rawSql(
      manager,
      `UPDATE sync_run SET items_seen = items_seen + ?, items_added = items_added + ?,
         items_updated = items_updated + ?, checkpoint_after = COALESCE(?, checkpoint_after)
       WHERE id = ?`,
      [counts.seen, counts.added, counts.updated, checkpoint, runId],
    );
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

  /** Ends a run that is still queued or running; whether it did. */
  async finish(
    manager: EntityManager,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    error: { code: string; message: string } | null,
    at: Date,
  ): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE sync_run SET status = ?, error_code = ?, error_message = ?, finished_at = ?
       WHERE id = ? AND status IN ('queued', 'running')`,
      [status, error?.code ?? null, error?.message ?? null, at, runId],
    );
    return affected === 1;
  }

  async checkpoint(connectionId: string, type: string): Promise<string | null> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT value FROM sync_checkpoint WHERE connection_id = ? AND type = ?`,
      [connectionId, type],
    );
    return rows.length === 0 ? null : sqlText(rows[0].value);
  }

  async saveCheckpoint(
    manager: EntityManager,
    connectionId: string,
    type: string,
    value: string,
    at: Date,
  ): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO sync_checkpoint (connection_id, type, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (connection_id, type) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [connectionId, type, value, at],
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
