import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rawSql, readTimestamp, sqlText } from '../../../database/raw-sql.js';

/** An authorisation started and not yet called back: what the callback needs to finish it. */
export interface OAuthGrant {
  /** The SHA-256 of the state: the state itself is not stored. */
  id: string;
  provider: string;
  name: string;
  accountId: string;
  config: Record<string, unknown>;
  scopes: string[];
  verifierSealed: string;
  expiresAt: Date;
  createdAt: Date;
}

/** The oauth_state table: single-use grants, taken (deleted) by the callback that uses them. */
@Injectable()
export class OAuthStateStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(grant: OAuthGrant): Promise<void> {
    await rawSql(
      this.dataSource.manager,
      `INSERT INTO oauth_state (id, provider, name, account_id, config, scopes, verifier_sealed, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        grant.id,
        grant.provider,
        grant.name,
        grant.accountId,
        JSON.stringify(grant.config),
        JSON.stringify(grant.scopes),
        grant.verifierSealed,
        grant.expiresAt,
        grant.createdAt,
      ],
    );
  }

  /** Deletes and returns the grant in one statement, so of two callbacks with one state only one gets it. */
  async take(id: string): Promise<OAuthGrant | null> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `DELETE FROM oauth_state WHERE id = ? RETURNING *`,
      [id],
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return {
      id: String(row.id),
      provider: sqlText(row.provider),
      name: sqlText(row.name),
      accountId: String(row.account_id),
      config: JSON.parse(sqlText(row.config)) as Record<string, unknown>,
      scopes: JSON.parse(sqlText(row.scopes)) as string[],
      verifierSealed: sqlText(row.verifier_sealed),
      expiresAt: readTimestamp(row.expires_at)!,
      createdAt: readTimestamp(row.created_at)!,
    };
  }

  /** Deletes grants that expired before `now`, which no callback can use any more. */
  async purgeExpired(now: Date): Promise<void> {
    await rawSql(this.dataSource.manager, `DELETE FROM oauth_state WHERE expires_at < ?`, [now]);
  }
}
