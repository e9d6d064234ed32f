import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { afterIdOf, encodeCursor } from '../../common/pagination/pagination.js';
import type { Page } from '../../common/pagination/pagination.js';
import {
  nullableSqlText,
  rawSql,
  readTimestamp,
  sqlJson,
  sqlPlaceholders,
  sqlText,
} from '../../database/raw-sql.js';

export const RECORD_KINDS = ['repositories', 'branches', 'features', 'builds'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

type FieldType = 'text' | 'bool' | 'int' | 'time';

/** A kind of project record: its table and its fields (API name -> column and type). */
interface KindOf {
  table: string;
  fields: Record<string, [column: string, type: FieldType]>;
}

export const KINDS: Record<RecordKind, KindOf> = {
  repositories: {
    table: 'project_repository',
    fields: {
      id: ['id', 'text'],
      provider: ['provider', 'text'],
      owner: ['owner', 'text'],
      name: ['name', 'text'],
      url: ['url', 'text'],
      active: ['active', 'bool'],
      updatedAt: ['updated_at', 'time'],
    },
  },
  branches: {
    table: 'project_branch',
    fields: {
      id: ['id', 'text'],
      repositoryId: ['repository_id', 'text'],
      name: ['name', 'text'],
      headSha: ['head_sha', 'text'],
      parent: ['parent', 'text'],
      mergedIntoParent: ['merged_into_parent', 'bool'],
      featureId: ['feature_id', 'text'],
      updatedAt: ['updated_at', 'time'],
    },
  },
  features: {
    table: 'project_feature',
    fields: {
      id: ['id', 'text'],
      provider: ['provider', 'text'],
      externalId: ['external_id', 'text'],
      type: ['type', 'text'],
      title: ['title', 'text'],
      owner: ['owner', 'text'],
      state: ['state', 'text'],
      url: ['url', 'text'],
      updatedAt: ['updated_at', 'time'],
    },
  },
  builds: {
    table: 'project_build',
    fields: {
      id: ['id', 'text'],
      provider: ['provider', 'text'],
      job: ['job', 'text'],
      number: ['number', 'int'],
      revision: ['revision', 'text'],
      branchId: ['branch_id', 'text'],
      status: ['status', 'text'],
      url: ['url', 'text'],
      startedAt: ['started_at', 'time'],
      finishedAt: ['finished_at', 'time'],
      updatedAt: ['updated_at', 'time'],
    },
  },
};

/** One record as the API shows it: its fields by API name. */
export type ProjectRecord = Record<string, unknown> & { id: string };

/** A provider's entry on a record: shown with it. */
export interface ProviderDatum {
  provider: string;
  key: string;
  display: 'string' | 'traffic_light';
  value: unknown;
  updatedAt: Date;
}

/**
 * The project records' tables, read and written the same way for every kind: lists by id with
 * equality filters and cursor pages, and upserts on each kind's natural key.
 */
@Injectable()
export class ProjectRecordsStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async page(
    kind: RecordKind,
    projectId: string,
    filters: Record<string, string | number | boolean>,
    limit: number,
    cursor?: string,
  ): Promise<Page<ProjectRecord>> {
    const { table, fields } = KINDS[kind];
    const where = ['project_id = ?'];
    const params: unknown[] = [projectId];
    for (const [name, value] of Object.entries(filters)) {
      where.push(`${fields[name][0]} = ?`);
      params.push(value);
    }
    if (cursor !== undefined) {
      where.push('id > ?');
      params.push(afterIdOf(cursor));
    }
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map((row) => fromRow(kind, row));
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor({ after: items[items.length - 1].id }) : null,
    };
  }

  async find(
    kind: RecordKind,
    projectId: string,
    id: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<ProjectRecord | null> {
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM ${KINDS[kind].table} WHERE project_id = ? AND id = ?`,
      [projectId, id],
    );
    return rows.length === 0 ? null : fromRow(kind, rows[0]);
  }

  /** The record of that natural key (`{ provider, owner, name }` for a repository ...), or null. */
  async findBy(
    manager: EntityManager,
    kind: RecordKind,
    projectId: string,
    key: Record<string, unknown>,
  ): Promise<ProjectRecord | null> {
    const { table, fields } = KINDS[kind];
    const names = Object.keys(key);
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM ${table} WHERE project_id = ? AND ${names.map((name) => `${fields[name][0]} = ?`).join(' AND ')}`,
      [projectId, ...names.map((name) => key[name])],
    );
    return rows.length === 0 ? null : fromRow(kind, rows[0]);
  }

  async insert(
    manager: EntityManager,
    kind: RecordKind,
    projectId: string,
    record: ProjectRecord,
  ): Promise<void> {
    const { table, fields } = KINDS[kind];
    const names = Object.keys(record);
    await rawSql(
      manager,
      `INSERT INTO ${table} (project_id, ${names.map((name) => fields[name][0]).join(', ')})
       VALUES (?, ${sqlPlaceholders(names.length)})`,
      [projectId, ...names.map((name) => record[name])],
    );
  }

  async update(
    manager: EntityManager,
    kind: RecordKind,
    id: string,
    changes: Record<string, unknown>,
  ): Promise<void> {
    const { table, fields } = KINDS[kind];
    const names = Object.keys(changes);
    if (names.length === 0) return;
    await rawSql(
      manager,
      `UPDATE ${table} SET ${names.map((name) => `${fields[name][0]} = ?`).join(', ')} WHERE id = ?`,
      [...names.map((name) => changes[name]), id],
    );
  }

  /** Deletes the record; false when there was none. Records that point at it follow their foreign keys. */
  async delete(manager: EntityManager, kind: RecordKind, id: string): Promise<boolean> {
    const { affected } = await rawSql(manager, `DELETE FROM ${KINDS[kind].table} WHERE id = ?`, [id]);
    if (affected > 0)
      await rawSql(manager, `DELETE FROM project_provider_data WHERE kind = ? AND record_id = ?`, [kind, id]);
    return affected > 0;
  }

  async putProviderData(
    manager: EntityManager,
    projectId: string,
    kind: RecordKind,
    recordId: string,
    datum: ProviderDatum,
  ): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO project_provider_data (project_id, kind, record_id, provider, key, display, value, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, record_id, provider, key) DO UPDATE
         SET display = excluded.display, value = excluded.value, updated_at = excluded.updated_at`,
      [
        projectId,
        kind,
        recordId,
        datum.provider,
        datum.key,
        datum.display,
        JSON.stringify(datum.value ?? null),
        datum.updatedAt,
      ],
    );
  }

  /** The provider data of these records, by record id. */
  async providerData(kind: RecordKind, recordIds: string[]): Promise<Map<string, ProviderDatum[]>> {
    const byRecord = new Map<string, ProviderDatum[]>();
    if (recordIds.length === 0) return byRecord;
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM project_provider_data WHERE kind = ? AND record_id IN (${sqlPlaceholders(recordIds.length)})
       ORDER BY provider, key`,
      [kind, ...recordIds],
    );
    for (const row of rows) {
      const id = String(row.record_id);
      const list = byRecord.get(id) ?? [];
      list.push({
        provider: sqlText(row.provider),
        key: sqlText(row.key),
        display: sqlText(row.display) as ProviderDatum['display'],
        value: sqlJson(row.value),
        updatedAt: readTimestamp(row.updated_at)!,
      });
      byRecord.set(id, list);
    }
    return byRecord;
  }
}

function fromRow(kind: RecordKind, row: Record<string, unknown>): ProjectRecord {
  const record: Record<string, unknown> = {};
  for (const [name, [column, type]] of Object.entries(KINDS[kind].fields)) {
    const value = row[column];
    record[name] =
      type === 'bool'
        ? value === true || value === 1 || value === '1'
        : type === 'int'
          ? value === null || value === undefined
            ? null
            : Number(value)
          : type === 'time'
            ? readTimestamp(value)
            : nullableSqlText(value);
  }
  return record as ProjectRecord;
}
