import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

const BEFORE = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'];
const AFTER = ['running', 'succeeded', 'failed', 'deferred', 'cancelled', 'interrupted'];
/** The name PostgreSQL gave the inline CHECK of the jobs migration, restored by `down`. */
const ORIGINAL_PG_CHECK = 'job_attempt_outcome_check';
const PG_CHECK = 'CHK_job_attempt_outcome';

/**
 * An attempt may end `deferred`: the job was put back before doing its work because a rate budget
 * was spent, and the attempt does not count as a failure.
 */
export class AttemptDeferred1764370800000 implements MigrationInterface {
  name = 'AttemptDeferred1764370800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await allowOutcomes(queryRunner, AFTER, PG_CHECK);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // A deferred attempt was handed back unfinished, as an interrupted one is; the job's extra
    // allowance stays, so the jobs keep the failures they had left.
    await queryRunner.query(
      `UPDATE "job_attempt" SET "outcome" = 'interrupted' WHERE "outcome" = 'deferred'`,
    );
    await allowOutcomes(queryRunner, BEFORE, ORIGINAL_PG_CHECK);
  }
}

async function allowOutcomes(queryRunner: QueryRunner, outcomes: string[], pgName: string): Promise<void> {
  const check = `"outcome" IN (${outcomes.map((o) => `'${o}'`).join(', ')})`;
  if (queryRunner.connection.options.type === 'postgres') {
    // Whatever the CHECK on outcome is called (named by PostgreSQL, or by this migration), it goes.
    const existing = (await queryRunner.query(
      `SELECT conname FROM pg_constraint
       WHERE conrelid = 'job_attempt'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%outcome%'`,
    )) as { conname: string }[];
    for (const { conname } of existing) {
      await queryRunner.query(`ALTER TABLE "job_attempt" DROP CONSTRAINT "${conname}"`);
    }
    await queryRunner.query(`ALTER TABLE "job_attempt" ADD CONSTRAINT "${pgName}" CHECK (${check})`);
    return;
  }
  // SQLite cannot alter a CHECK: the table is built again with the new one and its rows copied.
  const t = sqlDialect(queryRunner);
  const columns = `"id", "job_id", "attempt", "worker", "outcome", "error_code", "error_message", "error_stack",
    "started_at", "finished_at"`;
  await queryRunner.query(`
    CREATE TABLE "job_attempt_rebuilt" (
      "id" ${t.uuid} PRIMARY KEY NOT NULL,
      "job_id" ${t.uuid} NOT NULL REFERENCES "job" ("id") ON DELETE CASCADE,
      "attempt" integer NOT NULL,
      "worker" varchar(200) NOT NULL,
      "outcome" varchar(16) NOT NULL CHECK (${check}),
      "error_code" varchar(100),
      "error_message" text,
      "error_stack" text,
      "started_at" ${t.timestamp} NOT NULL,
      "finished_at" ${t.timestamp}
    )`);
  await queryRunner.query(
    `INSERT INTO "job_attempt_rebuilt" (${columns}) SELECT ${columns} FROM "job_attempt"`,
  );
  // Dropping the table drops its index, UQ_job_attempt, which is made again on the new one.
  await queryRunner.query(`DROP TABLE "job_attempt"`);
  await queryRunner.query(`ALTER TABLE "job_attempt_rebuilt" RENAME TO "job_attempt"`);
  await queryRunner.query(`CREATE UNIQUE INDEX "UQ_job_attempt" ON "job_attempt" ("job_id", "attempt")`);
}
