import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

export class Events1764111600000 implements MigrationInterface {
  name = 'Events1764111600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "event" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "name" varchar(200) NOT NULL,
        "source" varchar(200) NOT NULL,
        "data" text NOT NULL,
        "idempotency_key" varchar(300),
        "occurred_at" ${t.timestamp} NOT NULL,
        "received_at" ${t.timestamp} NOT NULL,
        "posted_by" ${t.uuid},
        "causation_depth" integer NOT NULL DEFAULT 0 CHECK ("causation_depth" >= 0),
        "caused_by_job" ${t.uuid}
      )`);
    // The same key from the same source is the same event.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_event_idempotency" ON "event" ("source", "idempotency_key")
       WHERE "idempotency_key" IS NOT NULL`,
    );
    // Counts per name, replay by name and time, and retention by age.
    await queryRunner.query(`CREATE INDEX "IDX_event_name_received" ON "event" ("name", "received_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_event_received" ON "event" ("received_at")`);
    await queryRunner.query(`
      CREATE TABLE "event_type" (
        "name" varchar(200) PRIMARY KEY NOT NULL,
        "description" text NOT NULL,
        "schema" text NOT NULL,
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "route" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "name" varchar(200) NOT NULL,
        "event_pattern" varchar(200) NOT NULL,
        "filter" text,
        "job_type" varchar(200) NOT NULL,
        "payload_template" text,
        "job_options" text NOT NULL,
        "enabled" boolean NOT NULL,
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_route_name" ON "route" ("name")`);
    await queryRunner.query(`
      CREATE TABLE "schedule" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "name" varchar(200) NOT NULL,
        "cron" varchar(100) NOT NULL,
        "timezone" varchar(100) NOT NULL,
        "job_type" varchar(200) NOT NULL,
        "payload" text NOT NULL,
        "enabled" boolean NOT NULL,
        "overlap" varchar(8) NOT NULL CHECK ("overlap" IN ('skip', 'allow')),
        "catch_up" varchar(8) NOT NULL CHECK ("catch_up" IN ('skip', 'once')),
        "built_in" boolean NOT NULL DEFAULT ${t.false},
        "last_fired_at" ${t.timestamp},
        "next_fire_at" ${t.timestamp},
        "last_job_id" ${t.uuid},
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_schedule_name" ON "schedule" ("name")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "schedule"`);
    await queryRunner.query(`DROP TABLE "route"`);
    await queryRunner.query(`DROP TABLE "event_type"`);
    await queryRunner.query(`DROP TABLE "event"`);
  }
}
