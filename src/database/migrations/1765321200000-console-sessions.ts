import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/** Dashboard sessions: a hashed cookie token per signed-in browser, tied to the API key it came from. */
export class ConsoleSessions1765321200000 implements MigrationInterface {
  name = 'ConsoleSessions1765321200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "console_session" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "api_key_id" ${t.uuid} NOT NULL REFERENCES "api_key" ("id") ON DELETE CASCADE,
        "token_hash" varchar(64) NOT NULL,
        "created_at" ${t.timestamp} NOT NULL,
        "expires_at" ${t.timestamp} NOT NULL,
        "revoked_at" ${t.timestamp}
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_console_session_token" ON "console_session" ("token_hash")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_console_session_api_key" ON "console_session" ("api_key_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "console_session"`);
  }
}
