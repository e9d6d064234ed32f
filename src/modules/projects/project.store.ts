import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { afterIdOf, encodeCursor } from '../../common/pagination/pagination.js';
import type { Page } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { nullableSqlText, rawSql, readTimestamp, sqlJson, sqlText } from '../../database/raw-sql.js';

export interface Project {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Member {
  projectId: string;
  accountId: string;
  manager: boolean;
  joinedAt: Date;
}

export interface Invitation {
  id: string;
  projectId: string;
  email: string;
  manager: boolean;
  tokenHash: string;
  invitedBy: string | null;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedBy: string | null;
  createdAt: Date;
}

export interface ProjectToken {
  id: string;
  projectId: string;
  accountId: string;
  label: string;
  prefix: string;
  hash: string;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

/** A provider's settings for a project. */
export interface ProviderSettings {
  provider: string;
  settings: Record<string, unknown>;
  updatedAt: Date;
}

/** Projects, their members, invitations and tokens. Methods that take a manager join its transaction. */
@Injectable()
export class ProjectStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a project; 'slug-taken' when the unique index refuses its slug. */
  async insert(manager: EntityManager, project: Project): Promise<'ok' | 'slug-taken'> {
    try {
      await rawSql(
        manager,
        `INSERT INTO project (id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
        [project.id, project.name, project.slug, project.createdAt, project.updatedAt],
      );
      return 'ok';
    } catch (error) {
      if (isUniqueViolation(error)) return 'slug-taken';
      throw error;
    }
  }

  async find(id: string, manager: EntityManager = this.dataSource.manager): Promise<Project | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM project WHERE id = ?`, [id]);
    return rows.length === 0 ? null : projectFromRow(rows[0]);
  }

  /** Projects by id, those `accountId` is a member of (all when null), a page after the cursor. */
  async page(accountId: string | null, limit: number, cursor?: string): Promise<Page<Project>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (accountId !== null) {
      where.push(`id IN (SELECT project_id FROM project_member WHERE account_id = ?)`);
      params.push(accountId);
    }
    if (cursor !== undefined) {
      where.push('id > ?');
      params.push(afterIdOf(cursor));
    }
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM project ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map(projectFromRow);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor({ after: items[items.length - 1].id }) : null,
    };
  }

  async remove(manager: EntityManager, id: string): Promise<void> {
    await rawSql(manager, `DELETE FROM project WHERE id = ?`, [id]);
  }

  async member(
    projectId: string,
    accountId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Member | null> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM project_member WHERE project_id = ? AND account_id = ?`,
      [projectId, accountId],
    );
    return rows.length === 0 ? null : memberFromRow(rows[0]);
  }

  async members(projectId: string): Promise<Member[]> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM project_member WHERE project_id = ? ORDER BY joined_at, account_id`,
      [projectId],
    );
    return rows.map(memberFromRow);
  }

  /** Adds a member, or changes whether an existing one manages; whether it was new. */
  async putMember(manager: EntityManager, member: Member): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE project_member SET manager = ? WHERE project_id = ? AND account_id = ?`,
      [member.manager, member.projectId, member.accountId],
    );
    if (affected > 0) return false;
    await rawSql(
      manager,
      `INSERT INTO project_member (project_id, account_id, manager, joined_at) VALUES (?, ?, ?, ?)`,
      [member.projectId, member.accountId, member.manager, member.joinedAt],
    );
    return true;
  }

  async removeMember(manager: EntityManager, projectId: string, accountId: string): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `DELETE FROM project_member WHERE project_id = ? AND account_id = ?`,
      [projectId, accountId],
    );
    return affected > 0;
  }

  async countManagers(manager: EntityManager, projectId: string): Promise<number> {
    const { rows } = await rawSql(
      manager,
      `SELECT count(*) AS n FROM project_member WHERE project_id = ? AND manager = ?`,
      [projectId, true],
    );
    return Number(rows[0].n);
  }

  async insertInvitation(manager: EntityManager, invitation: Invitation): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO project_invitation (id, project_id, email, manager, token_hash, invited_by, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        invitation.id,
        invitation.projectId,
        invitation.email,
        invitation.manager,
        invitation.tokenHash,
        invitation.invitedBy,
        invitation.expiresAt,
        invitation.createdAt,
      ],
    );
  }

  async invitationByHash(manager: EntityManager, tokenHash: string): Promise<Invitation | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM project_invitation WHERE token_hash = ?`, [
      tokenHash,
    ]);
    return rows.length === 0 ? null : invitationFromRow(rows[0]);
  }

  /** Marks an invitation used, unless it was already: whether this call used it. */
  async useInvitation(manager: EntityManager, id: string, accountId: string, at: Date): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `UPDATE project_invitation SET accepted_at = ?, accepted_by = ? WHERE id = ? AND accepted_at IS NULL`,
      [at, accountId, id],
    );
    return affected === 1;
  }

  async insertToken(manager: EntityManager, token: ProjectToken): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO project_token (id, project_id, account_id, label, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [token.id, token.projectId, token.accountId, token.label, token.prefix, token.hash, token.createdAt],
    );
  }

  async tokens(projectId: string): Promise<ProjectToken[]> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM project_token WHERE project_id = ? ORDER BY id`,
      [projectId],
    );
    return rows.map(tokenFromRow);
  }

  /** Tokens whose key starts with `prefix`, to check the key's hash against. */
  async tokenCandidates(prefix: string): Promise<ProjectToken[]> {
    const { rows } = await rawSql(this.dataSource.manager, `SELECT * FROM project_token WHERE prefix = ?`, [
      prefix,
    ]);
    return rows.map(tokenFromRow);
  }

  async revokeToken(
    manager: EntityManager,
    projectId: string,
    id: string,
    at: Date,
  ): Promise<ProjectToken | null> {
    await rawSql(
      manager,
      `UPDATE project_token SET revoked_at = COALESCE(revoked_at, ?) WHERE project_id = ? AND id = ?`,
      [at, projectId, id],
    );
    const { rows } = await rawSql(manager, `SELECT * FROM project_token WHERE project_id = ? AND id = ?`, [
      projectId,
      id,
    ]);
    return rows.length === 0 ? null : tokenFromRow(rows[0]);
  }

  async providerSettings(projectId: string, provider?: string): Promise<ProviderSettings[]> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM project_provider WHERE project_id = ?${provider === undefined ? '' : ' AND provider = ?'}
       ORDER BY provider`,
      provider === undefined ? [projectId] : [projectId, provider],
    );
    return rows.map((row) => ({
      provider: sqlText(row.provider),
      settings: sqlJson(row.settings) as Record<string, unknown>,
      updatedAt: readTimestamp(row.updated_at)!,
    }));
  }

  /** Every project's settings for a provider, by project id. */
  async settingsOfProvider(
    provider: string,
  ): Promise<{ projectId: string; settings: Record<string, unknown> }[]> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT project_id, settings FROM project_provider WHERE provider = ? ORDER BY project_id`,
      [provider],
    );
    return rows.map((row) => ({
      projectId: sqlText(row.project_id),
      settings: sqlJson(row.settings) as Record<string, unknown>,
    }));
  }

  async putProviderSettings(manager: EntityManager, projectId: string, put: ProviderSettings): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO project_provider (project_id, provider, settings, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (project_id, provider) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
      [projectId, put.provider, JSON.stringify(put.settings), put.updatedAt],
    );
  }

  async removeProviderSettings(
    manager: EntityManager,
    projectId: string,
    provider: string,
  ): Promise<boolean> {
    const { affected } = await rawSql(
      manager,
      `DELETE FROM project_provider WHERE project_id = ? AND provider = ?`,
      [projectId, provider],
    );
    return affected > 0;
  }

  async touchToken(manager: EntityManager, id: string, at: Date): Promise<void> {
    await rawSql(manager, `UPDATE project_token SET last_used_at = ? WHERE id = ?`, [at, id]);
  }
}

function flag(value: unknown): boolean {
  return value === true || value === 1 || value === '1';
}

function projectFromRow(row: Record<string, unknown>): Project {
  return {
    id: String(row.id),
    name: sqlText(row.name),
    slug: sqlText(row.slug),
    createdAt: readTimestamp(row.created_at)!,
    updatedAt: readTimestamp(row.updated_at)!,
  };
}

function memberFromRow(row: Record<string, unknown>): Member {
  return {
    projectId: String(row.project_id),
    accountId: String(row.account_id),
    manager: flag(row.manager),
    joinedAt: readTimestamp(row.joined_at)!,
  };
}

function invitationFromRow(row: Record<string, unknown>): Invitation {
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    email: sqlText(row.email),
    manager: flag(row.manager),
    tokenHash: sqlText(row.token_hash),
    invitedBy: nullableSqlText(row.invited_by),
    expiresAt: readTimestamp(row.expires_at)!,
    acceptedAt: readTimestamp(row.accepted_at),
    acceptedBy: nullableSqlText(row.accepted_by),
    createdAt: readTimestamp(row.created_at)!,
  };
}

function tokenFromRow(row: Record<string, unknown>): ProjectToken {
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    accountId: String(row.account_id),
    label: sqlText(row.label),
    prefix: sqlText(row.prefix),
    hash: sqlText(row.hash),
    revokedAt: readTimestamp(row.revoked_at),
    lastUsedAt: readTimestamp(row.last_used_at),
    createdAt: readTimestamp(row.created_at)!,
  };
}
