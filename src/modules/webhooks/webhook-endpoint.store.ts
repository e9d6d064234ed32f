import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { nullableSqlText, rawSql, readTimestamp, sqlJson, sqlText } from '../../database/raw-sql.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/** The webhook endpoint table. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class WebhookEndpointStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async save(manager: EntityManager, endpoint: WebhookEndpoint): Promise<void> {
    await manager.save(WebhookEndpoint, endpoint);
  }

  /** Plain SQL: TypeORM's query building cost more than the read. */
  async find(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookEndpoint | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM webhook_endpoint WHERE id = ?`, [id]);
    return rows.length === 0 ? null : endpointFromRow(rows[0]);
  }

  page(page: PageQueryDto): Promise<Page<WebhookEndpoint>> {
    return paginate(this.dataSource.manager.createQueryBuilder(WebhookEndpoint, 'endpoint'), page);
  }

  /** The enabled endpoints, in the order they were created. */
  listEnabled(): Promise<WebhookEndpoint[]> {
    return this.dataSource.manager.find(WebhookEndpoint, { where: { enabled: true }, order: { id: 'ASC' } });
  }

  /** Deletes the endpoint and its deliveries; false when there was none. */
  async delete(manager: EntityManager, id: string): Promise<boolean> {
    const { affected } = await manager.delete(WebhookEndpoint, { id });
    return Boolean(affected);
  }

  /**
   * Replaces the sealed secrets and headers with the same values sealed again, unless they
   * changed meanwhile (a rotation); whether it replaced them.
   */
  async replaceSealed(
    manager: EntityManager,
    id: string,
    was: Pick<WebhookEndpoint, 'secretsSealed' | 'headersSealed'>,
    now: Pick<WebhookEndpoint, 'secretsSealed' | 'headersSealed'>,
  ): Promise<boolean> {
    const { affected } = await manager.update(
      WebhookEndpoint,
      { id, secretsSealed: was.secretsSealed, headersSealed: was.headersSealed ?? IsNull() },
      { secretsSealed: now.secretsSealed, headersSealed: now.headersSealed },
    );
    return affected === 1;
  }

  /** Notes a failure: the first since the last success starts the clock. Answers when the failing began. */
  async markFailing(manager: EntityManager, id: string, at: Date): Promise<Date> {
    await manager.update(WebhookEndpoint, { id, failingSince: IsNull() }, { failingSince: at });
    const row = await manager.findOneBy(WebhookEndpoint, { id });
    return row?.failingSince ?? at;
  }

  async markSucceeded(manager: EntityManager, id: string): Promise<void> {
    await rawSql(
      manager,
      `UPDATE webhook_endpoint SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`,
      [id],
    );
  }

  /** Disables an enabled endpoint; whether this call did it (so it is announced once). */
  async disable(manager: EntityManager, id: string, reason: string, at: Date): Promise<boolean> {
    const { affected } = await manager.update(
      WebhookEndpoint,
      { id, enabled: true },
      { enabled: false, disabledReason: reason, updatedAt: at },
    );
    return affected === 1;
  }
}

/** The endpoint table's columns, for reads joined with another table. */
export const ENDPOINT_COLUMNS = [
  'id',
  'url',
  'description',
  'event_patterns',
  'filter',
  'headers_sealed',
  'rate_limit',
  'ordered',
  'enabled',
  'disabled_reason',
  'secrets_sealed',
  'failing_since',
  'created_at',
  'updated_at',
] as const;

/**
 * An endpoint row read by raw SQL, converted as TypeORM would (booleans are 0/1 on SQLite).
 * `prefix` names its columns in a joined read (`e_url`...).
 */
export function endpointFromRow(row: Record<string, unknown>, prefix = ''): WebhookEndpoint {
  const column = (name: (typeof ENDPOINT_COLUMNS)[number]) => row[`${prefix}${name}`];
  return Object.assign(new WebhookEndpoint(), {
    id: String(column('id')),
    url: sqlText(column('url')),
    description: nullableSqlText(column('description')),
    eventPatterns: sqlJson(column('event_patterns')) as string[],
    filter: sqlJson(column('filter')) as Record<string, unknown> | null,
    headersSealed: nullableSqlText(column('headers_sealed')),
    rateLimit: sqlJson(column('rate_limit')) as WebhookEndpoint['rateLimit'],
    ordered: Boolean(column('ordered')),
    enabled: Boolean(column('enabled')),
    disabledReason: nullableSqlText(column('disabled_reason')),
    secretsSealed: sqlText(column('secrets_sealed')),
    failingSince: readTimestamp(column('failing_since')),
    createdAt: readTimestamp(column('created_at'))!,
    updatedAt: readTimestamp(column('updated_at'))!,
  } satisfies WebhookEndpoint);
}
