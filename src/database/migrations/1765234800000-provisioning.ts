import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * Provisioning: flavors (which CDN providers and which DNS driver a service is deployed on),
 * services under projects with each provider's part of them, the domains every service holds
 * (unique across all projects), and the per-project limit an admin may set.
 */
export class Provisioning1765234800000 implements MigrationInterface {
  name = 'Provisioning1765234800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "flavor" (
        "id" varchar(100) PRIMARY KEY NOT NULL,
        "providers" text NOT NULL,
        "dns" text NOT NULL,
        "limits" text,
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "service" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "project_id" ${t.uuid} NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "name" varchar(200) NOT NULL,
        "flavor_id" varchar(100) NOT NULL REFERENCES "flavor" ("id"),
        "spec" text NOT NULL,
        "operator_status" varchar(16) NOT NULL CHECK ("operator_status" IN ('enabled', 'disabled')),
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_service_name" ON "service" ("project_id", "name")`);
    await queryRunner.query(`CREATE INDEX "IDX_service_flavor" ON "service" ("flavor_id")`);
    await queryRunner.query(`
      CREATE TABLE "service_domain" (
        "domain" varchar(253) PRIMARY KEY NOT NULL,
        "service_id" ${t.uuid} NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_service_domain_service" ON "service_domain" ("service_id")`);
    await queryRunner.query(`
      CREATE TABLE "service_provider" (
        "service_id" ${t.uuid} NOT NULL REFERENCES "service" ("id") ON DELETE CASCADE,
        "provider" varchar(100) NOT NULL,
        "provider_service_id" varchar(300),
        "access_urls" text NOT NULL,
        "status" varchar(32) NOT NULL,
        "error_info" text,
        "updated_at" ${t.timestamp} NOT NULL,
        PRIMARY KEY ("service_id", "provider")
      )`);
    await queryRunner.query(`
      CREATE TABLE "service_limit" (
        "project_id" ${t.uuid} PRIMARY KEY NOT NULL REFERENCES "project" ("id") ON DELETE CASCADE,
        "max_services" integer NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['service_limit', 'service_provider', 'service_domain', 'service', 'flavor'])
      await queryRunner.query(`DROP TABLE "${table}"`);
  }
}
