import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * OAuth 2 connect: the authorisations started and not yet called back (single use, kept by the
 * hash of their state), and on each connection the refresh lease (one refresh at a time across
 * processes) and the days its token refresh failed on.
 */
export class OAuth1764716400000 implements MigrationInterface {
  name = 'OAuth1764716400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "oauth_state" (
        "id" varchar(64) PRIMARY KEY NOT NULL,
        "provider" varchar(100) NOT NULL,
        "name" varchar(200) NOT NULL,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "config" text NOT NULL,
        "scopes" text NOT NULL,
        "verifier_sealed" text NOT NULL,
        "expires_at" ${t.timestamp} NOT NULL,
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_oauth_state_expires" ON "oauth_state" ("expires_at")`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "refreshing_until" ${t.timestamp}`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "refresh_failures" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "refresh_failures"`);
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "refreshing_until"`);
    await queryRunner.query(`DROP TABLE "oauth_state"`);
  }
}
