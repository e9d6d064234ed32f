import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * Syncs: a sync of an account's connections with the runs that answer it (its own, or a run of the
 * same pair already going), one run per connection and content type (at most one queued or running
 * per pair, enforced here), the checkpoint each pair resumes from, and the
 * records the runs store, once per (connection, type, external id). All go with their connection.
 */
export class Syncs1764802800000 implements MigrationInterface {
  name = 'Syncs1764802800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "sync" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "requested_at" ${t.timestamp} NOT NULL,
        "run_ids" text NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_sync_account" ON "sync" ("account_id", "id")`);
    await queryRunner.query(`
      CREATE TABLE "sync_run" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "sync_id" ${t.uuid} NOT NULL REFERENCES "sync" ("id") ON DELETE CASCADE,
        "connection_id" ${t.uuid} NOT NULL REFERENCES "connection" ("id") ON DELETE CASCADE,
        "type" varchar(100) NOT NULL,
        "status" varchar(16) NOT NULL
          CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
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
    await queryRunner.query(`CREATE INDEX "IDX_sync_run_sync" ON "sync_run" ("sync_id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_sync_run_active" ON "sync_run" ("connection_id", "type")
       WHERE "status" IN ('queued', 'running')`,
    );
    await queryRunner.query(`
      CREATE TABLE "sync_checkpoint" (
        "connection_id" ${t.uuid} NOT NULL REFERENCES "connection" ("id") ON DELETE CASCADE,
        "type" varchar(100) NOT NULL,
        "value" text NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("connection_id", "type")
      )`);
    await queryRunner.query(`
      CREATE TABLE "record" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "connection_id" ${t.uuid} NOT NULL REFERENCES "connection" ("id") ON DELETE CASCADE,
        "type" varchar(100) NOT NULL,
        "external_id" varchar(500) NOT NULL,
        "hash" varchar(64) NOT NULL,
        "data" text NOT NULL,
        "title" text,
        "filename" text,
        "thumbnail_url" text,
        "size" bigint,
        "first_seen_at" ${t.timestamp} NOT NULL,
        "last_modified_at" ${t.timestamp} NOT NULL,
        "last_action" varchar(8) NOT NULL CHECK ("last_action" IN ('added', 'updated', 'deleted')),
        "deleted_at" ${t.timestamp},
        "last_seen_run" ${t.uuid}
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_record_item" ON "record" ("connection_id", "type", "external_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_record_modified" ON "record" ("connection_id", "type", "last_modified_at", "id")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['record', 'sync_checkpoint', 'sync_run', 'sync']) {
      await queryRunner.query(`DROP TABLE "${table}"`);
    }
  }
}
