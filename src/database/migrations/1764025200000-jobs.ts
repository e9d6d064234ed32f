import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

export class Jobs1764025200000 implements MigrationInterface {
  name = 'Jobs1764025200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "job" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "type" varchar(200) NOT NULL,
        "queue" varchar(100) NOT NULL,
        "payload" text NOT NULL,
        "status" varchar(16) NOT NULL
          CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
        "priority" integer NOT NULL DEFAULT 0,
        "run_at" ${t.timestamp} NOT NULL,
        "attempt" integer NOT NULL DEFAULT 0,
        "max_attempts" integer NOT NULL CHECK ("max_attempts" >= 1),
        "backoff" text NOT NULL,
        "timeout_ms" integer,
        "idempotency_key" varchar(300),
        "concurrency_key" varchar(300),
        "concurrency_limit" integer NOT NULL DEFAULT 1,
        "lease_owner" varchar(200),
        "lease_expires_at" ${t.timestamp},
        "progress" real,
        "result" text,
        "last_error" text,
        "created_at" ${t.timestamp} NOT NULL,
        "started_at" ${t.timestamp},
        "finished_at" ${t.timestamp},
        "event_id" ${t.uuid}
      )`);
    // Every status change writes a new entry into each index whose predicate the row meets, so
    // indexes that most rows do not need are partial.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_job_idempotency_key" ON "job" ("idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );
    // What a worker claims next: only waiting jobs are indexed, in claim order.
    await queryRunner.query(`
      CREATE INDEX "IDX_job_claimable" ON "job" ("queue", "priority" DESC, "run_at", "id")
      WHERE "status" IN ('queued', 'failed')`);
    await queryRunner.query(
      `CREATE INDEX "IDX_job_running_key" ON "job" ("concurrency_key")
       WHERE "status" = 'running' AND "concurrency_key" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_job_lease" ON "job" ("lease_expires_at") WHERE "status" = 'running'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_job_status_finished" ON "job" ("status", "finished_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_job_type" ON "job" ("type")`);
    await queryRunner.query(
      `CREATE INDEX "IDX_job_event" ON "job" ("event_id") WHERE "event_id" IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "job_attempt" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "job_id" ${t.uuid} NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE,
        "attempt" integer NOT NULL,
        "worker" varchar(200) NOT NULL,
        "outcome" varchar(16) NOT NULL
          CHECK ("outcome" IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
        "error_code" varchar(100),
        "error_message" text,
        "error_stack" text,
        "started_at" ${t.timestamp} NOT NULL,
        "finished_at" ${t.timestamp}
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_job_attempt" ON "job_attempt" ("job_id", "attempt")`);
    await queryRunner.query(`
      CREATE TABLE "job_step" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "job_id" ${t.uuid} NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE,
        "name" varchar(200) NOT NULL,
        "result" text,
        "attempt" integer NOT NULL,
        "completed_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_job_step" ON "job_step" ("job_id", "name")`);
    await queryRunner.query(`
      CREATE TABLE "job_log" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "job_id" ${t.uuid} NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE,
        "attempt" integer NOT NULL,
        "message" text NOT NULL,
        "at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_job_log_job" ON "job_log" ("job_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "job_log"`);
    await queryRunner.query(`DROP TABLE "job_step"`);
    await queryRunner.query(`DROP TABLE "job_attempt"`);
    await queryRunner.query(`DROP TABLE "job"`);
  }
}
