import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * Outbound webhooks: endpoints, one delivery per (event, endpoint) and every attempt of it. A
 * delivery keeps its event's id but no foreign key to it, so event retention does not reach here.
 */
export class Webhooks1764630000000 implements MigrationInterface {
  name = 'Webhooks1764630000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "webhook_endpoint" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "url" text NOT NULL,
        "description" text,
        "event_patterns" text NOT NULL,
        "filter" text,
        "headers_sealed" text,
        "rate_limit" text,
        "ordered" boolean NOT NULL DEFAULT ${t.false},
        "enabled" boolean NOT NULL,
        "disabled_reason" text,
        "secrets_sealed" text NOT NULL,
        "failing_since" ${t.timestamp},
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE "webhook_delivery" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "endpoint_id" ${t.uuid} NOT NULL REFERENCES "webhook_endpoint" ("id") ON DELETE CASCADE,
        "event_id" ${t.uuid} NOT NULL,
        "event_name" varchar(200) NOT NULL,
        "body" text NOT NULL,
        "status" varchar(16) NOT NULL CHECK ("status" IN ('pending', 'succeeded', 'failed')),
        "attempts" integer NOT NULL,
        "next_attempt_at" ${t.timestamp},
        "last_error" text,
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_delivery_endpoint" ON "webhook_delivery" ("endpoint_id", "status", "id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "webhook_attempt" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "delivery_id" ${t.uuid} NOT NULL REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE,
        "attempt" integer NOT NULL,
        "status_code" integer,
        "duration_ms" integer NOT NULL,
        "response" text,
        "error" text,
        "started_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_attempt_delivery" ON "webhook_attempt" ("delivery_id", "attempt")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_attempt"`);
    await queryRunner.query(`DROP TABLE "webhook_delivery"`);
    await queryRunner.query(`DROP TABLE "webhook_endpoint"`);
  }
}
