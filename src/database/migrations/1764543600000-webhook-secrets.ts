import type { MigrationInterface, QueryRunner } from 'typeorm';
import { sqlDialect } from '../sql-dialect.js';

/**
 * A connection that receives webhooks holds a signing secret, sealed like its credentials, and
 * after a rotation the previous one until it expires.
 */
export class WebhookSecrets1764543600000 implements MigrationInterface {
  name = 'WebhookSecrets1764543600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "webhook_secret_sealed" text`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "webhook_previous_secret_sealed" text`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "webhook_previous_until" ${t.timestamp}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of [
      'webhook_previous_until',
      'webhook_previous_secret_sealed',
      'webhook_secret_sealed',
    ]) {
      await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "${column}"`);
    }
  }
}
