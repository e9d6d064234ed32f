import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * The records a project's tools keep current: repositories, their branches, features (stories,
 * bugs) and builds, and the provider data any of them may carry.
 */
export class ProjectRecords1765148400000 implements MigrationInterface {
  name = 'ProjectRecords1765148400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    const project = `"project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE`;
    await queryRunner.query(`
      CREATE TABLE "project_repository" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        ${project},
        "provider" varchar(100) NOT NULL,
        "owner" varchar(200) NOT NULL,
        "name" varchar(200) NOT NULL,
        "url" text,
        "active" boolean NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_project_repository" ON "project_repository" ("project_id", "provider", "owner", "name")`,
    );
    await queryRunner.query(`
      CREATE TABLE "project_feature" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        ${project},
        "provider" varchar(100) NOT NULL,
        "external_id" varchar(200) NOT NULL,
        "type" varchar(16) NOT NULL CHECK ("type" IN ('story', 'bug', 'feature')),
        "title" text NOT NULL,
        "owner" varchar(200),
        "state" varchar(100) NOT NULL,
        "url" text,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_project_feature" ON "project_feature" ("project_id", "provider", "external_id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "project_branch" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        ${project},
        "repository_id" ${t.uuid} NOT NULL REFERENCES "project_repository" ("id") ON DELETE CASCADE,
        "name" varchar(250) NOT NULL,
        "head_sha" varchar(64) NOT NULL,
        "parent" varchar(250),
        "merged_into_parent" boolean NOT NULL,
        "feature_id" ${t.uuid} REFERENCES "project_feature" ("id") ON DELETE SET NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_project_branch" ON "project_branch" ("repository_id", "name")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_project_branch_feature" ON "project_branch" ("feature_id")`);
    await queryRunner.query(`
      CREATE TABLE "project_build" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        ${project},
        "provider" varchar(100) NOT NULL,
        "job" varchar(250) NOT NULL,
        "number" integer NOT NULL,
        "revision" varchar(64),
        "branch_id" ${t.uuid} REFERENCES "project_branch" ("id") ON DELETE SET NULL,
        "status" varchar(16) NOT NULL
          CHECK ("status" IN ('queued', 'running', 'success', 'unstable', 'failure', 'not_built', 'aborted')),
        "url" text,
        "started_at" ${t.timestamp},
        "finished_at" ${t.timestamp},
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_project_build" ON "project_build" ("project_id", "provider", "job", "number")`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_project_build_branch" ON "project_build" ("branch_id", "id")`);
    await queryRunner.query(`
      CREATE TABLE "project_provider_data" (
        ${project},
        "kind" varchar(16) NOT NULL,
        "record_id" ${t.uuid} NOT NULL,
        "provider" varchar(100) NOT NULL,
        "key" varchar(100) NOT NULL,
        "display" varchar(16) NOT NULL CHECK ("display" IN ('string', 'traffic_light')),
        "value" text NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("kind", "record_id", "provider", "key")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'project_provider_data',
      'project_build',
      'project_branch',
      'project_feature',
      'project_repository',
    ])
      await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
