import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * What a full sync run has seen, one row per page (its external ids), instead of a mark on every
 * record: an unchanged full resync then writes a row a page, not a row per item. The rows live
 * until the run ends.
 */
export class SyncSeen1764975600000 implements MigrationInterface {
  name = 'SyncSeen1764975600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "sync_run_seen" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "run_id" ${t.uuid} NOT NULL REFERENCES "sync_run" ("id") ON DELETE CASCADE,
        "external_ids" text NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_sync_run_seen_run" ON "sync_run_seen" ("run_id")`);
    await queryRunner.query(`ALTER TABLE "record" DROP COLUMN "last_seen_run"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`ALTER TABLE "record" ADD COLUMN "last_seen_run" ${t.uuid}`);
    await queryRunner.query(`DROP TABLE "sync_run_seen"`);
  }
}
