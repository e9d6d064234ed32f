import type { MigrationInterface, QueryRunner } from 'typeorm';
import { rawSql, readTimestamp, sqlJson, sqlText } from '../raw-sql.js';
import { sqlDialect } from '../sql-dialect.js';

/**
 * A connection keeps every webhook secret rotated out in the last 24 hours, not only the last one:
 * `webhook_previous_secrets` is a JSON list of `{ sealed, expiresAt }`, newest first, each secret
 * sealed on its own. The expiries are not secret, and each value is copied as it was sealed, so
 * the migration needs no key.
 */
export class WebhookPreviousSecrets1765332000000 implements MigrationInterface {
  name = 'WebhookPreviousSecrets1765332000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "connection" ADD COLUMN "webhook_previous_secrets" text NOT NULL DEFAULT '[]'`,
    );
    const { rows } = await rawSql(
      queryRunner.manager,
      `SELECT id, webhook_previous_secret_sealed, webhook_previous_until FROM "connection"
       WHERE webhook_previous_secret_sealed IS NOT NULL AND webhook_previous_until IS NOT NULL`,
    );
    for (const row of rows) {
      const previous = [
        {
          sealed: sqlText(row.webhook_previous_secret_sealed),
          expiresAt: readTimestamp(row.webhook_previous_until)!.toISOString(),
        },
      ];
      await rawSql(queryRunner.manager, `UPDATE "connection" SET webhook_previous_secrets = ? WHERE id = ?`, [
        JSON.stringify(previous),
        row.id,
      ]);
    }
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "webhook_previous_secret_sealed"`);
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "webhook_previous_until"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = sqlDialect(queryRunner);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "webhook_previous_secret_sealed" text`);
    await queryRunner.query(`ALTER TABLE "connection" ADD COLUMN "webhook_previous_until" ${t.timestamp}`);
    // One previous secret fits the old columns: the newest, rotated out last.
    const { rows } = await rawSql(
      queryRunner.manager,
      `SELECT id, webhook_previous_secrets FROM "connection" WHERE webhook_previous_secrets <> '[]'`,
    );
    for (const row of rows) {
      const [newest] = sqlJson(row.webhook_previous_secrets) as { sealed: string; expiresAt: string }[];
      await rawSql(
        queryRunner.manager,
        `UPDATE "connection" SET webhook_previous_secret_sealed = ?, webhook_previous_until = ? WHERE id = ?`,
        [newest.sealed, new Date(newest.expiresAt), row.id],
      );
    }
    await queryRunner.query(`ALTER TABLE "connection" DROP COLUMN "webhook_previous_secrets"`);
  }
}
