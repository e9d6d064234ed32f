import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { AccountRole } from '../../common/auth/roles.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql, readTimestamp } from '../../database/raw-sql.js';
import { ApiKey } from './api-key.entity.js';

/** A key that matches a prefix, with what authentication needs of its account. */
export interface KeyCandidate {
  id: string;
  hash: string;
  expiresAt: Date | null;
  revoked: boolean;
  lastUsedAt: Date | null;
  accountId: string;
  role: AccountRole;
  accountDisabled: boolean;
}

interface CandidateRow {
  id: unknown;
  hash: unknown;
  expires_at: unknown;
  revoked_at: unknown;
  last_used_at: unknown;
  account_id: unknown;
  role: AccountRole;
  disabled: unknown;
}

/** The api_key table. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class ApiKeyStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  save(manager: EntityManager, apiKey: ApiKey): Promise<ApiKey> {
    return manager.save(apiKey);
  }

  pageOfAccount(accountId: string, page: PageQueryDto): Promise<Page<ApiKey>> {
    return paginate(
      this.dataSource.manager
        .createQueryBuilder(ApiKey, 'key')
        .where('key.account_id = :accountId', { accountId }),
      page,
    );
  }

  findOfAccount(manager: EntityManager, accountId: string, id: string): Promise<ApiKey | null> {
    return manager.findOneBy(ApiKey, { id, accountId });
  }

  /**
   * The keys whose prefix is `prefix`, joined with their accounts. Every request passes here: one
   * plain query, without building entities.
   */
  candidates(prefix: string): Promise<KeyCandidate[]> {
    return this.selectCandidates('k.prefix = ?', prefix);
  }

  async candidateById(id: string): Promise<KeyCandidate | undefined> {
    return (await this.selectCandidates('k.id = ?', id))[0];
  }

  private async selectCandidates(where: string, value: string): Promise<KeyCandidate[]> {
    const { rows } = await rawSql<CandidateRow>(
      this.dataSource.manager,
      `SELECT k.id, k.hash, k.expires_at, k.revoked_at, k.last_used_at, a.id AS account_id, a.role, a.disabled
       FROM api_key k JOIN account a ON a.id = k.account_id
       WHERE ${where}`,
      [value],
    );
    return rows.map((row) => ({
      id: String(row.id),
      hash: String(row.hash),
      expiresAt: readTimestamp(row.expires_at),
      revoked: row.revoked_at !== null,
      lastUsedAt: readTimestamp(row.last_used_at),
      accountId: String(row.account_id),
      role: row.role,
      accountDisabled: row.disabled === true || Number(row.disabled) === 1,
    }));
  }

  async touch(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager.update(ApiKey, { id }, { lastUsedAt: at });
  }
}
