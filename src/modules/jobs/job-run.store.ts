import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { inChunks, rawSql } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { Job } from './job.entity.js';
import { LeaseOwner } from './lease-owner.js';

/** A line a handler logged, kept until it is written (with the attempt's outcome, or before). */
export interface JobLogLine {
  /** Made when the line was logged, so lines read back in id order are in the order logged. */
  id: string;
  jobId: string;
  attempt: number;
  message: string;
  at: Date;
}

/** Log lines per SQLite statement: five parameters each, well under SQLite's limit. */
const SQLITE_LOG_CHUNK = 200;
/** PostgreSQL: log lines as rows, from the five parameter arrays of `logArrays`. */
export const LOG_ROWS_FROM_ARRAYS = `SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::int[], ?::text[], ?::timestamptz[])`;

/** The parameters of `LOG_ROWS_FROM_ARRAYS`. */
export function logArrays(lines: JobLogLine[]): unknown[] {
  return [
    lines.map((line) => line.id),
    lines.map((line) => line.jobId),
    lines.map((line) => line.attempt),
    lines.map((line) => line.message),
    lines.map((line) => line.at),
  ];
}

/** What a running job writes about itself: progress, log lines and completed steps. */
@Injectable()
export class JobRunStore {
  constructor(
    private readonly serializer: WriteSerializer,
    private readonly owner: LeaseOwner,
    private readonly clock: Clock,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Writes progress while this worker holds the job. */
  async setProgress(job: Job, value: number): Promise<void> {
    await this.serializer.transaction((manager) =>
      rawSql(
        manager,
        `UPDATE job SET progress = ? WHERE id = ? AND status = 'running' AND lease_owner = ? AND attempt = ?`,
        [value, job.id, this.owner.workerId, job.attempt],
      ),
    );
  }

  /**
   * Writes log lines in `manager`'s transaction. SQLite takes them in chunks (five parameters a
   * line); PostgreSQL in one statement.
   */
  async insertLogs(manager: EntityManager, lines: JobLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.dataSource.options.type === 'postgres') {
      await rawSql(
        manager,
        `INSERT INTO job_log (id, job_id, attempt, message, at) ${LOG_ROWS_FROM_ARRAYS}`,
        logArrays(lines),
      );
      return;
    }
    for (const chunk of inChunks(lines, SQLITE_LOG_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO job_log (id, job_id, attempt, message, at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((line) => [line.id, line.jobId, line.attempt, line.message, line.at]),
      );
    }
  }

  /** Writes log lines in a transaction of their own. */
  async appendLogs(lines: JobLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.serializer.transaction((manager) => this.insertLogs(manager, lines));
  }

  /** The results of the steps a job completed in earlier attempts, by name. */
  async completedSteps(
    jobId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, unknown>> {
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
        [job.id, this.owner.workerId, job.attempt],
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
}
