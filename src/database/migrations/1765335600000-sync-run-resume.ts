import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a run cut short (its job deferred, retried, or its worker killed) goes on: a JSON
 * `{ page, cursor, range }`, the partner's token of the next page and the checkpoint and date range
 * its query was built from, written with each page stored. Null once the read has no next page.
 */
export class SyncRunResume1765335600000 implements MigrationInterface {
  name = 'SyncRunResume1765335600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sync_run" ADD COLUMN "resume" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sync_run" DROP COLUMN "resume"`);
  }
}
