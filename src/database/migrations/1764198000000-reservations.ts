import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

export class Reservations1764198000000 implements MigrationInterface {
  name = 'Reservations1764198000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`
      CREATE TABLE "goods_type" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "code" varchar(100) NOT NULL,
        "label" varchar(200) NOT NULL,
        "properties" text NOT NULL,
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_goods_type_code" ON "goods_type" ("code")`);
    await queryRunner.query(`
      CREATE TABLE "location" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "code" varchar(100) NOT NULL,
        "label" varchar(200) NOT NULL,
        "parent_id" ${t.uuid} REFERENCES "location" ("id"),
        "created_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_location_code" ON "location" ("code")`);
    await queryRunner.query(`CREATE INDEX "IDX_location_parent" ON "location" ("parent_id")`);
    await queryRunner.query(`
      CREATE TABLE "goods" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "type_id" ${t.uuid} NOT NULL REFERENCES "goods_type" ("id"),
        "code" varchar(200),
        "properties" text NOT NULL,
        "reserved" boolean NOT NULL DEFAULT ${t.false},
        "in_stock" boolean NOT NULL,
        "created_at" ${t.timestamp} NOT NULL
      )`);
    // The reserver's look-up: free goods of a type in id order, found through the index alone
    // however many goods are reserved or gone.
    await queryRunner.query(
      `CREATE INDEX "IDX_goods_free" ON "goods" ("type_id", "reserved", "in_stock", "id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "avatar" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "goods_id" ${t.uuid} NOT NULL REFERENCES "goods" ("id"),
        "location_id" ${t.uuid} NOT NULL REFERENCES "location" ("id"),
        "state" varchar(8) NOT NULL CHECK ("state" IN ('past', 'present', 'future')),
        "dt_from" ${t.timestamp} NOT NULL,
        "dt_until" ${t.timestamp},
        "outcome_of" ${t.uuid},
        CHECK ("dt_until" IS NULL OR "dt_until" >= "dt_from")
      )`);
    // An object is in one place at a time.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_avatar_present" ON "avatar" ("goods_id") WHERE "state" = 'present'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_avatar_goods" ON "avatar" ("goods_id", "dt_from")`);
    await queryRunner.query(`CREATE INDEX "IDX_avatar_location" ON "avatar" ("location_id", "state")`);
    await queryRunner.query(`CREATE INDEX "IDX_avatar_outcome_of" ON "avatar" ("outcome_of")`);
    await queryRunner.query(`
      CREATE TABLE "reservation_request" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "purpose" text NOT NULL,
        "purpose_type" varchar(100) NOT NULL,
        "lane" varchar(100) NOT NULL,
        "reserved" boolean NOT NULL DEFAULT ${t.false},
        "planned" boolean NOT NULL DEFAULT ${t.false},
        "status" varchar(10) NOT NULL
          CHECK ("status" IN ('pending', 'reserved', 'planned', 'done', 'cancelled')),
        "checked_version" integer NOT NULL DEFAULT 0,
        "claimed_by" ${t.uuid},
        "claimed_until" ${t.timestamp},
        "idempotency_key" varchar(300),
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    // The reserver reads pending requests of a lane in id order; planners read reserved ones.
    await queryRunner.query(
      `CREATE INDEX "IDX_request_pending" ON "reservation_request" ("lane", "id") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_request_reserved" ON "reservation_request" ("id") WHERE "status" = 'reserved'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_request_status" ON "reservation_request" ("status", "id")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_request_idempotency" ON "reservation_request" ("idempotency_key")
       WHERE "idempotency_key" IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "request_item" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "request_id" ${t.uuid} NOT NULL REFERENCES "reservation_request" ("id"),
        "position" integer NOT NULL,
        "goods_type_id" ${t.uuid} NOT NULL REFERENCES "goods_type" ("id"),
        "quantity" integer NOT NULL CHECK ("quantity" > 0),
        "properties" text NOT NULL,
        "reserved_quantity" integer NOT NULL DEFAULT 0,
        CHECK ("reserved_quantity" >= 0 AND "reserved_quantity" <= "quantity")
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_request_item_request" ON "request_item" ("request_id", "position")`,
    );
    await queryRunner.query(`
      CREATE TABLE "reservation" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "goods_id" ${t.uuid} NOT NULL REFERENCES "goods" ("id"),
        "request_item_id" ${t.uuid} NOT NULL REFERENCES "request_item" ("id"),
        "request_id" ${t.uuid} NOT NULL REFERENCES "reservation_request" ("id"),
        "quantity" integer NOT NULL CHECK ("quantity" > 0),
        "created_at" ${t.timestamp} NOT NULL
      )`);
    // An object is promised at most once.
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_reservation_goods" ON "reservation" ("goods_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_reservation_request" ON "reservation" ("request_id")`);
    await queryRunner.query(`
      CREATE TABLE "operation" (
        "id" ${t.uuid} PRIMARY KEY NOT NULL,
        "type" varchar(10) NOT NULL CHECK ("type" IN ('arrival', 'move', 'departure', 'unpack')),
        "state" varchar(10) NOT NULL CHECK ("state" IN ('planned', 'started', 'done', 'cancelled')),
        "dt_execution" ${t.timestamp} NOT NULL,
        "goods_id" ${t.uuid} NOT NULL REFERENCES "goods" ("id"),
        "input_avatar_id" ${t.uuid},
        "location_id" ${t.uuid} REFERENCES "location" ("id"),
        "request_id" ${t.uuid} REFERENCES "reservation_request" ("id"),
        "follows_id" ${t.uuid} REFERENCES "operation" ("id"),
        "executed_at" ${t.timestamp},
        "created_at" ${t.timestamp} NOT NULL,
        "updated_at" ${t.timestamp} NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_operation_due" ON "operation" ("dt_execution") WHERE "state" = 'planned'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_operation_request" ON "operation" ("request_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_operation_follows" ON "operation" ("follows_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_operation_goods" ON "operation" ("goods_id")`);
    // Bumped in every transaction that adds goods a request could take (arrivals, releases), so the
    // reserver knows when requests it left unsatisfied are worth another look.
    await queryRunner.query(`
      CREATE TABLE "supply_version" (
        "name" varchar(20) PRIMARY KEY NOT NULL,
        "version" integer NOT NULL
      )`);
    await queryRunner.query(`INSERT INTO "supply_version" ("name", "version") VALUES ('goods', 1)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "supply_version"`);
    await queryRunner.query(`DROP TABLE "operation"`);
    await queryRunner.query(`DROP TABLE "reservation"`);
    await queryRunner.query(`DROP TABLE "request_item"`);
    await queryRunner.query(`DROP TABLE "reservation_request"`);
    await queryRunner.query(`DROP TABLE "avatar"`);
    await queryRunner.query(`DROP TABLE "goods"`);
    await queryRunner.query(`DROP TABLE "location"`);
    await queryRunner.query(`DROP TABLE "goods_type"`);
  }
}
