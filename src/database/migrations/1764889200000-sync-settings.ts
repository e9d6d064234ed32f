import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

const ACTIVE = `'queued', 'running'`;
const ENDED = `'succeeded', 'failed', 'cancelled'`;

/**
 * A connection's settings (how often it syncs, which content types over which dates), whether
 * its syncs are paused, and the date range each checkpoint was read over. A run may now be
 * `paused`, holding its (connection, type) like a queued one; a pair's runs are read newest first
 * by an index. A record may point to a copy of its content in a storage connection.
 */
export class SyncSettings1764889200000 implements MigrationInterface {
  name = 'SyncSettings1764889200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "settings" text NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "syncs_paused_at" ${t.timestamp}`);
    // The date range a checkpoint was read over; '' for all dates.
    await queryRunner.query(
      `ALTER TABLE "sync_checkpoint" ADD COLUMN "range_key" varchar(100) NOT NULL DEFAULT ''`,
    );
    await allowRunStatuses(queryRunner, `${ACTIVE}, 'paused', ${ENDED}`, `${ACTIVE}, 'paused'`);
    await queryRunner.query(`CREATE INDEX "IDX_sync_run_pair" ON "sync_run" ("connection_id", "type", "id")`);
    // Where a record's content is copied: a storage connection and the path in it. No foreign key:
    // SQLite cannot drop a column that has one, and a copy outlives a deleted storage connection.
    await queryRunner.query(`ALTER TABLE "record" ADD COLUMN "stored_connection_id" ${t.uuid}`);
    await queryRunner.query(`ALTER TABLE "record" ADD COLUMN "stored_path" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "record" DROP COLUMN "stored_path"`);
    await queryRunner.query(`ALTER TABLE "record" DROP COLUMN "stored_connection_id"`);
    await queryRunner.query(`DROP INDEX "IDX_sync_run_pair"`);
    await queryRunner.query(`UPDATE "sync_run" SET "status" = 'cancelled' WHERE "status" = 'paused'`);
    await allowRunStatuses(queryRunner, `${ACTIVE}, ${ENDED}`, ACTIVE);
    await queryRunner.query(`ALTER TABLE "sync_checkpoint" DROP COLUMN "range_key"`);
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "syncs_paused_at"`);
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "settings"`);
  }
}

/**
 * Sets the statuses a run may have, and which of them hold a (connection, type). PostgreSQL
 * changes the check in place; SQLite cannot, so the table is built anew with the same columns.
 */
async function allowRunStatuses(queryRunner: QueryRunner, statuses: string, holding: string): Promise<void> {
  const t = sqlDialect(queryRunner);
  await queryRunner.query(`DROP INDEX "UQ_sync_run_active"`);
  if (queryRunner.connection.options.type === 'postgres') {
    await queryRunner.query(`ALTER TABLE "sync_run" DROP CONSTRAINT "sync_run_status_check"`);
    await queryRunner.query(
      `ALTER TABLE "sync_run" ADD CONSTRAINT "sync_run_status_check" CHECK ("status" IN (${statuses}))`,
    );
  } else {
    await queryRunner.query(`
      CREATE TABLE "sync_run_next" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "sync_id" ${t.uuid} NOT NULL REFERENCES "sync" ("id") ON DELETE CASCADE,
        "connection_id" ${t.uuid} NOT NULL REFERENCES "connection" ("id") ON DELETE CASCADE,
        "type" varchar(100) NOT NULL,
        "status" varchar(16) NOT NULL CHECK ("status" IN (${statuses})),
        "items_seen" integer NOT NULL DEFAULT 0,
        "items_added" integer NOT NULL DEFAULT 0,
        "items_updated" integer NOT NULL DEFAULT 0,
        "items_deleted" integer NOT NULL DEFAULT 0,
        "checkpoint_before" text,
        "checkpoint_after" text,
        "error_code" varchar(100),
        "error_message" text,
        "job_id" ${t.uuid},
        "created_at" ${t.timestamp} NOT NULL,
        "started_at" ${t.timestamp},
        "finished_at" ${t.timestamp}
      )`);
    await queryRunner.query(`INSERT INTO "sync_run_next" SELECT * FROM "sync_run"`);
    await queryRunner.query(`DROP TABLE "sync_run"`);
    await queryRunner.query(`ALTER TABLE "sync_run_next" RENAME TO "sync_run"`);
    await queryRunner.query(`CREATE INDEX "IDX_sync_run_sync" ON "sync_run" ("sync_id")`);
  }
  await queryRunner.query(
    `CREATE UNIQUE INDEX "UQ_sync_run_active" ON "sync_run" ("connection_id", "type") WHERE "status" IN (${holding})`,
  );
}
