import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

export class Accounts1764021600000 implements MigrationInterface {
  name = 'Accounts1764021600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "account" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "name" varchar(200) NOT NULL,
        "email" varchar(320) NOT NULL,
        "role" varchar(16) NOT NULL CHECK ("role" IN ('admin', 'operator', 'viewer')),
        "disabled" boolean NOT NULL DEFAULT ${t.false},
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_account_email" ON "account" ("email")`);
    await queryRunner.query(`
      CREATE TABLE "api_key" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "name" varchar(200) NOT NULL,
        "prefix" varchar(16) NOT NULL,
        "hash" varchar(64) NOT NULL,
        "expires_at" ${t.timestamp},
        "revoked_at" ${t.timestamp},
        "last_used_at" ${t.timestamp},
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_api_key_prefix" ON "api_key" ("prefix")`);
    await queryRunner.query(`CREATE INDEX "IDX_api_key_account" ON "api_key" ("account_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_key"`);
    await queryRunner.query(`DROP TABLE "account"`);
  }
}
