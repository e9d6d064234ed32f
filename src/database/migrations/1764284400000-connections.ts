import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

export class Connections1764284400000 implements MigrationInterface {
  name = 'Connections1764284400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "connection" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "provider" varchar(100) NOT NULL,
        "name" varchar(200) NOT NULL,
        "config" text NOT NULL,
        "credential_type" varchar(16) NOT NULL
          CHECK ("credential_type" IN ('none', 'api_key', 'bearer', 'basic', 'hmac', 'oauth2')),
        "credentials_sealed" text,
        "credentials_hint" varchar(16),
        "state" varchar(24) NOT NULL CHECK ("state" IN ('active', 'paused', 'bad_authentication')),
        "last_error" text,
        "last_used_at" ${t.timestamp},
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_connection_account_name" ON "connection" ("account_id", "name")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_connection_provider" ON "connection" ("provider", "id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "connection"`);
  }
}
