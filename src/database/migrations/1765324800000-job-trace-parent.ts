import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A job carries the trace context (W3C `traceparent`) of the work that enqueued it, so its
 * attempts, in whatever process runs them, continue that trace. Null while tracing is off.
 */
export class JobTraceParent1765324800000 implements MigrationInterface {
  name = 'JobTraceParent1765324800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "job" ADD COLUMN "trace_parent" varchar(100)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "job" DROP COLUMN "trace_parent"`);
  }
}
