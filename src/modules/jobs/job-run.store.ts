import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { rawSql } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { Job } from './job.entity.js';
import { LeaseOwner } from './lease-owner.js';

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
