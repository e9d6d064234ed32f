import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * Where each poller of a connection has read up to: the cursor its next poll starts from. It goes
 * with its connection.
 */
export class PollCursors1764457200000 implements MigrationInterface {
  name = 'PollCursors1764457200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "poll_cursor" (
        "connection_id" ${t.uuid} NOT NULL REFERENCES "connection" ("id") ON DELETE CASCADE,
        "poller" varchar(100) NOT NULL,
        "cursor" text NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("connection_id", "poller")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "poll_cursor"`);
  }
}
