import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * Projects for development teams: their members (managers among them), invitations of people
 * without an account yet (single use, kept by the hash of their token), and project tokens
 * (hashed like API keys) that act only inside their project, and each provider's settings for a
 * project.
 */
export class Projects1765062000000 implements MigrationInterface {
  name = 'Projects1765062000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "project" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "name" varchar(200) NOT NULL,
        "slug" varchar(100) NOT NULL,
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_project_slug" ON "project" ("slug")`);
    await queryRunner.query(`
      CREATE TABLE "project_member" (
        "project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "manager" boolean NOT NULL,
        "joined_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("project_id", "account_id")
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_project_member_account" ON "project_member" ("account_id")`);
    await queryRunner.query(`
      CREATE TABLE "project_invitation" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "email" varchar(320) NOT NULL,
        "manager" boolean NOT NULL,
        "token_hash" varchar(64) NOT NULL,
        "invited_by" ${t.uuid},
        "expires_at" ${t.timestamp} NOT NULL,
        "accepted_at" ${t.timestamp},
        "accepted_by" ${t.uuid},
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_project_invitation_token" ON "project_invitation" ("token_hash")`,
    );
    await queryRunner.query(`
      CREATE TABLE "project_token" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "account_id" ${t.uuid} NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
        "label" varchar(200) NOT NULL,
        "prefix" varchar(16) NOT NULL,
        "hash" varchar(64) NOT NULL,
        "revoked_at" ${t.timestamp},
        "last_used_at" ${t.timestamp},
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_project_token_prefix" ON "project_token" ("prefix")`);
    await queryRunner.query(`CREATE INDEX "IDX_project_token_project" ON "project_token" ("project_id")`);
    await queryRunner.query(`
      CREATE TABLE "project_provider" (
        "project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "provider" varchar(100) NOT NULL,
        "settings" text NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("project_id", "provider")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'project_provider',
      'project_token',
      'project_invitation',
      'project_member',
      'project',
    ])
      await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
