import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../database/db-errors.js';
import { nullableSqlText, rawSql, readTimestamp, sqlJson, sqlText } from '../../database/raw-sql.js';
import { ConnectionCache } from './connection-cache.js';
import { Connection } from './connection.entity.js';
import type {
  ConnectionProblem,
  ConnectionSettings,
  ConnectionState,
  PreviousWebhookSecret,
} from './connection.entity.js';
import type { CredentialType } from './credentials.js';

export interface ConnectionFilter {
  provider?: string;
  accountId?: string;
  state?: ConnectionState;
}

/**
 * The connection table. Methods that take a manager run inside the caller's transaction. Every
 * write, once made, tells the cache of connections partner calls read (`ConnectionCache`): here no
 * write can pass it by.
 */
@Injectable()
export class ConnectionStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: ConnectionCache,
  ) {}

  /**
   * Inserts or updates; `'name-taken'` when the account already has a connection of that name,
   * `'no-account'` when its account is gone (deleted since it was checked).
   */
  async save(
    manager: EntityManager,
    connection: Connection,
  ): Promise<Connection | 'name-taken' | 'no-account'> {
    try {
      const saved = await manager.save(connection);
      this.cache.written(manager, connection.id);
      return saved;
    } catch (error) {
      if (isUniqueViolation(error)) return 'name-taken';
      if (isForeignKeyViolation(error)) return 'no-account';
      throw error;
    }
  }

  /**
   * Plain SQL: every partner call reads its connection (its state may have changed), and TypeORM's
   * query building cost more than the read.
   */
  async find(id: string, manager: EntityManager = this.dataSource.manager): Promise<Connection | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM "connection" WHERE id = ?`, [id]);
    return rows.length === 0 ? null : connectionFromRow(rows[0]);
  }

  /**
   * The connection, to change or delete in the caller's transaction. On PostgreSQL its row stays
   * locked until that transaction ends, so a concurrent change waits and then finds the
   * connection as it was left (or gone): without the lock, a change that read it before a delete
   * committed would save it again, credentials and schedules included. SQLite runs one write
   * transaction at a time already.
   */
  async findForChange(manager: EntityManager, id: string): Promise<Connection | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM "connection" WHERE id = ?${forUpdate(manager)}`, [
      id,
    ]);
    return rows.length === 0 ? null : connectionFromRow(rows[0]);
  }

  /** How many connections each provider has. */
  async countByProvider(): Promise<Record<string, number>> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT provider, count(*) AS n FROM "connection" GROUP BY provider ORDER BY provider`,
    );
    return Object.fromEntries(rows.map((row) => [sqlText(row.provider), Number(row.n)]));
  }

  /** An account's connections, oldest first. */
  async ofAccount(
    accountId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Connection[]> {
    const { rows } = await rawSql(manager, `SELECT * FROM "connection" WHERE account_id = ? ORDER BY id`, [
      accountId,
    ]);
    return rows.map(connectionFromRow);
  }

  /** The account's connection of that name, locked for a change like `findForChange`. */
  async findByName(manager: EntityManager, accountId: string, name: string): Promise<Connection | null> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM "connection" WHERE account_id = ? AND name = ?${forUpdate(manager)}`,
      [accountId, name],
    );
    return rows.length === 0 ? null : connectionFromRow(rows[0]);
  }

  /**
   * The account's connections whose settings name `storageId` as the storage for their copies,
   * locked for a change. Settings are stored as `JSON.stringify` writes them, so the text narrows
   * the rows down and the parsed settings decide.
   */
  async copyingInto(manager: EntityManager, accountId: string, storageId: string): Promise<Connection[]> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM "connection" WHERE account_id = ? AND id <> ? AND settings LIKE ? ORDER BY id${forUpdate(manager)}`,
      [accountId, storageId, `%${JSON.stringify(storageId)}%`],
    );
    return rows
      .map(connectionFromRow)
      .filter((connection) => connection.settings.storageConnectionId === storageId);
  }

  /**
   * Takes the connection's refresh lease until `until`, if its credentials are still `sealed` and
   * no other process holds the lease: whether this call took it. A compare-and-set, so of two
   * processes refreshing at once one wins and the other waits for its tokens.
   */
  async leaseRefresh(id: string, sealed: string, now: Date, until: Date): Promise<boolean> {
    const { affected } = await rawSql(
      this.dataSource.manager,
      `UPDATE "connection" SET refreshing_until = ?
       WHERE id = ? AND credentials_sealed = ? AND (refreshing_until IS NULL OR refreshing_until < ?)`,
      [until, id, sealed, now],
    );
    this.cache.written(this.dataSource.manager, id);
    return affected === 1;
  }

  /** Stores refreshed tokens and gives the lease back; refresh failures are forgotten. */
  async refreshed(manager: EntityManager, id: string, sealed: string | null, at: Date): Promise<void> {
    await rawSql(
      manager,
      `UPDATE "connection" SET credentials_sealed = ?, refreshing_until = NULL, refresh_failures = NULL,
         updated_at = ? WHERE id = ?`,
      [sealed, at, id],
    );
    this.cache.written(manager, id);
  }

  /** Gives the refresh lease back, nothing else changed. */
  async releaseRefresh(manager: EntityManager, id: string): Promise<void> {
    await rawSql(manager, `UPDATE "connection" SET refreshing_until = NULL WHERE id = ?`, [id]);
    this.cache.written(manager, id);
  }

  /** Gives the lease back after a failed refresh, with the days refresh has failed on. */
  async refreshFailed(manager: EntityManager, id: string, days: string[]): Promise<void> {
    await rawSql(
      manager,
      `UPDATE "connection" SET refreshing_until = NULL, refresh_failures = ? WHERE id = ?`,
      [JSON.stringify(days), id],
    );
    this.cache.written(manager, id);
  }

  page(filter: ConnectionFilter, page: PageQueryDto): Promise<Page<Connection>> {
    const query = this.dataSource.manager.createQueryBuilder(Connection, 'connection');
    if (filter.provider !== undefined) query.andWhere('connection.provider = :provider', filter);
    if (filter.accountId !== undefined) query.andWhere('connection.account_id = :accountId', filter);
    if (filter.state !== undefined) query.andWhere('connection.state = :state', filter);
    return paginate(query, page);
  }

  /**
   * Marks a connection refused by its partner, unless it is already marked or paused; answers
   * whether this call changed it (so the problem is announced once).
   */
  async markBadAuthentication(
    manager: EntityManager,
    id: string,
    problem: ConnectionProblem,
    at: Date,
  ): Promise<boolean> {
    const result = await manager.update(
      Connection,
      { id, state: 'active' },
      { state: 'bad_authentication', lastError: problem, updatedAt: at },
    );
    this.cache.written(manager, id);
    return result.affected === 1;
  }

  async touch(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.update(Connection, { id }, { lastUsedAt: at });
    this.cache.written(manager, id);
  }

  async countByProviderAndState(): Promise<{ provider: string; state: ConnectionState; count: number }[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(Connection, 'connection')
      .select('connection.provider', 'provider')
      .addSelect('connection.state', 'state')
      .addSelect('COUNT(*)', 'count')
      .groupBy('connection.provider')
      .addGroupBy('connection.state')
      .getRawMany<{ provider: string; state: ConnectionState; count: string | number }>();
    return rows.map((row) => ({ provider: row.provider, state: row.state, count: Number(row.count) }));
  }

  async remove(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(Connection, { id });
    this.cache.written(manager, id);
  }

  /** Replaces a sealed value, unless it changed since it was read (`expected`). */
  async replaceSealed(
    manager: EntityManager,
    id: string,
    column: 'credentialsSealed' | 'webhookSecretSealed',
    expected: string,
    sealed: string,
  ): Promise<boolean> {
    const result = await manager.update(Connection, { id, [column]: expected }, { [column]: sealed });
    this.cache.written(manager, id);
    return result.affected === 1;
  }

  /**
   * Replaces the previous webhook secrets, unless they changed since they were read (`expected`).
   * Compared as the JSON text every writer stores (`JSON.stringify`).
   */
  async replacePreviousSecrets(
    manager: EntityManager,
    id: string,
    expected: PreviousWebhookSecret[],
    secrets: PreviousWebhookSecret[],
  ): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE "connection" SET webhook_previous_secrets = ? WHERE id = ? AND webhook_previous_secrets = ?`,
      [JSON.stringify(secrets), id, JSON.stringify(expected)],
    );
    this.cache.written(manager, id);
    return affected === 1;
  }
}

/** Locks the rows read until the transaction ends, on PostgreSQL; SQLite runs one write transaction at a time. */
function forUpdate(manager: EntityManager): string {
  return manager.connection.options.type === 'postgres' ? ' FOR UPDATE' : '';
}

/** A write refused by a foreign key (the connection's account is gone), on PostgreSQL or SQLite. */
function connectionFromRow(row: Record<string, unknown>): Connection {
  return Object.assign(new Connection(), {
    id: String(row.id),
    accountId: String(row.account_id),
    provider: sqlText(row.provider),
    name: sqlText(row.name),
    config: sqlJson(row.config) as Record<string, unknown>,
    credentialType: sqlText(row.credential_type) as CredentialType,
    credentialsSealed: nullableSqlText(row.credentials_sealed),
    credentialsHint: nullableSqlText(row.credentials_hint),
    webhookSecretSealed: nullableSqlText(row.webhook_secret_sealed),
    webhookPreviousSecrets: sqlJson(row.webhook_previous_secrets) as PreviousWebhookSecret[],
    refreshingUntil: readTimestamp(row.refreshing_until),
    refreshFailures: sqlJson(row.refresh_failures) as string[] | null,
    settings: sqlJson(row.settings) as ConnectionSettings,
    syncsPausedAt: readTimestamp(row.syncs_paused_at),
    state: sqlText(row.state) as ConnectionState,
    lastError: sqlJson(row.last_error) as ConnectionProblem | null,
    lastUsedAt: readTimestamp(row.last_used_at),
    createdAt: readTimestamp(row.created_at)!,
    updatedAt: readTimestamp(row.updated_at)!,
  } satisfies Connection);
}
