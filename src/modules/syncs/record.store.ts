import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { newId } from '../../common/ids.js';
import { isUUID } from 'class-validator';
import { decodeCursor, encodeCursor, invalidCursor } from '../../common/pagination/pagination.js';
import type { Page } from '../../common/pagination/pagination.js';
import { stableJson } from '../../common/stable-json.js';
import {
  inChunks,
  nullableSqlText,
  rawSql,
  readTimestamp,
  sqlPlaceholders,
  sqlText,
} from '../../database/raw-sql.js';
import type { SyncRecord } from '../providers/providers.contract.js';
import { RecordCache } from './record-cache.js';
import type { PageCounts } from './sync.store.js';

export const RECORD_ACTIONS = ['added', 'updated', 'deleted'] as const;
export type RecordAction = (typeof RECORD_ACTIONS)[number];

/** A synced item, stored once per connection, type and external id. */
export interface StoredRecord {
  id: string;
  connectionId: string;
  type: string;
  externalId: string;
  hash: string;
  data: unknown;
  title: string | null;
  filename: string | null;
  thumbnailUrl: string | null;
  size: number | null;
  firstSeenAt: Date;
  lastModifiedAt: Date;
  lastAction: RecordAction;
  deletedAt: Date | null;
  /** Where a copy of the item's content is kept: a storage connection and the path in it. */
  storedConnectionId: string | null;
  storedPath: string | null;
}

export interface RecordFilter {
  connectionId: string;
  type?: string;
  changes?: RecordAction[];
  modifiedAfter?: Date;
}

/** What the table holds of an item, to tell what a page changes. */
interface HeldRecord {
  id: string;
  hash: string;
  deleted: boolean;
  storedConnectionId: string | null;
}

/** Rows per INSERT: 14 values each, well under SQLite's limit on parameters. */
const INSERT_CHUNK = 200;
/** Ids per lookup of what a page already holds. */
const LOOKUP_CHUNK = 500;

/**
 * The records platform's table: what runs store, and the reads that page through it by
 * modification. Every write tells the hot cache of single-record reads.
 */
@Injectable()
export class RecordStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: RecordCache,
  ) {}

  /**
   * Stores one page: new items are added, items whose normalised data changed are updated (a
   * deleted one seen again is back), the same item with the same hash changes nothing and only
   * counts as seen.
   */
  async apply(
    manager: EntityManager,
    connectionId: string,
    type: string,
    records: SyncRecord[],
    now: Date,
    /** A full sync's run: it keeps the page's external ids, for the sweep at its end. */
    fullRun: string | null = null,
  ): Promise<PageCounts> {
    const latest = new Map<string, SyncRecord>();
    for (const record of records) latest.set(record.externalId, record);
    this.cache.changed(manager, connectionId);
    const held = await this.held(manager, connectionId, type, [...latest.keys()]);
    const added: StoredRecord[] = [];
    let updated = 0;
    for (const record of latest.values()) {
      const hash = hashOf(record.data);
      const known = held.get(record.externalId);
      if (known && known.hash === hash && !known.deleted) continue;
      if (known) {
        await rawSql(
          manager,
          `UPDATE record SET hash = ?, data = ?, title = ?, filename = ?, thumbnail_url = ?, size = ?,
             last_modified_at = ?, last_action = 'updated', deleted_at = NULL
           WHERE id = ?`,
          [
            hash,
            JSON.stringify(record.data ?? null),
            record.title ?? null,
            record.filename ?? null,
            record.thumbnailUrl ?? null,
            record.size ?? null,
            now,
            known.id,
          ],
        );
        updated++;
      } else {
        added.push({
          storedConnectionId: null,
          storedPath: null,
          id: newId(now.getTime()),
          connectionId,
          type,
          externalId: record.externalId,
          hash,
          data: record.data ?? null,
          title: record.title ?? null,
          filename: record.filename ?? null,
          thumbnailUrl: record.thumbnailUrl ?? null,
          size: record.size ?? null,
          firstSeenAt: now,
          lastModifiedAt: now,
          lastAction: 'added',
          deletedAt: null,
        });
      }
    }
    for (const part of inChunks(added, INSERT_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO record (id, connection_id, type, external_id, hash, data, title, filename, thumbnail_url,
           size, first_seen_at, last_modified_at, last_action, deleted_at)
         VALUES ${part.map(() => `(${sqlPlaceholders(14)})`).join(', ')}`,
        part.flatMap((r) => [
          r.id,
          r.connectionId,
          r.type,
          r.externalId,
          r.hash,
          JSON.stringify(r.data),
          r.title,
          r.filename,
          r.thumbnailUrl,
          r.size,
          r.firstSeenAt,
          r.lastModifiedAt,
          r.lastAction,
          r.deletedAt,
        ]),
      );
    }
    // A full run keeps what it saw, a row a page, for the sweep at its end.
    if (fullRun !== null && latest.size > 0) {
      await rawSql(manager, `INSERT INTO sync_run_seen (id, run_id, external_ids) VALUES (?, ?, ?)`, [
        newId(now.getTime()),
        fullRun,
        JSON.stringify([...latest.keys()]),
      ]);
    }
    return { seen: latest.size, added: added.length, updated };
  }

  /**
   * The records of a page whose content a storage must copy: those not held yet, changed, deleted,
   * or not copied to that storage.
   */
  async needingCopy(
    connectionId: string,
    type: string,
    records: SyncRecord[],
    storageConnectionId: string,
  ): Promise<SyncRecord[]> {
    const latest = new Map(records.map((record) => [record.externalId, record]));
    const held = await this.held(this.dataSource.manager, connectionId, type, [...latest.keys()]);
    return [...latest.values()].filter((record) => {
      const known = held.get(record.externalId);
      return (
        !known ||
        known.deleted ||
        known.hash !== hashOf(record.data) ||
        known.storedConnectionId !== storageConnectionId
      );
    });
  }

  /** Points records of a page, once applied, at their copies in a storage connection. */
  async setCopies(
    manager: EntityManager,
    connectionId: string,
    type: string,
    storageConnectionId: string,
    paths: Map<string, string>,
  ): Promise<void> {
    for (const [externalId, path] of paths) {
      await rawSql(
        manager,
        `UPDATE record SET stored_connection_id = ?, stored_path = ?
         WHERE connection_id = ? AND type = ? AND external_id = ?`,
        [storageConnectionId, path, connectionId, type, externalId],
      );
    }
  }

  /**
   * After a full sync that ended without error: marks deleted (soft) the type's records that run
   * did not see, unless they are more than `brakePercent` of its records, when nothing is deleted.
   */
  async sweep(
    manager: EntityManager,
    connectionId: string,
    type: string,
    runId: string,
    brakePercent: number,
    now: Date,
  ): Promise<{ deleted: number } | { braked: number; of: number }> {
    const seen = new Set<string>();
    const { rows: pages } = await rawSql(manager, `SELECT external_ids FROM sync_run_seen WHERE run_id = ?`, [
      runId,
    ]);
    for (const page of pages)
      for (const id of JSON.parse(sqlText(page.external_ids)) as string[]) seen.add(id);
    // Every item the run saw is held and not deleted: as many live records as seen items, none is gone.
    const { rows: counted } = await rawSql(
      manager,
      `SELECT count(*) AS n FROM record WHERE connection_id = ? AND type = ? AND deleted_at IS NULL`,
      [connectionId, type],
    );
    if (Number(counted[0].n) === seen.size) return { deleted: 0 };
    const { rows: live } = await rawSql(
      manager,
      `SELECT id, external_id FROM record WHERE connection_id = ? AND type = ? AND deleted_at IS NULL`,
      [connectionId, type],
    );
    const unseen = live.filter((row) => !seen.has(sqlText(row.external_id))).map((row) => String(row.id));
    if (unseen.length === 0) return { deleted: 0 };
    if (unseen.length * 100 > live.length * brakePercent) return { braked: unseen.length, of: live.length };
    this.cache.changed(manager, connectionId);
    for (const part of inChunks(unseen, LOOKUP_CHUNK)) {
      await rawSql(
        manager,
        `UPDATE record SET deleted_at = ?, last_action = 'deleted', last_modified_at = ?
         WHERE id IN (${sqlPlaceholders(part.length)})`,
        [now, now, ...part],
      );
    }
    return { deleted: unseen.length };
  }

  /** Deletes the connection's records of these types; how many. */
  async clear(manager: EntityManager, connectionId: string, types: string[]): Promise<number> {
    if (types.length === 0) return 0;
    this.cache.changed(manager, connectionId);
    const { affected } = await rawSql(
      manager,
      `DELETE FROM record WHERE connection_id = ? AND type IN (${sqlPlaceholders(types.length)})`,
      [connectionId, ...types],
    );
    return affected;
  }

  /** Records by modification, oldest first; the cursor (time and id of the last one) stays valid across syncs. */
  async page(filter: RecordFilter, limit: number, cursor?: string): Promise<Page<StoredRecord>> {
    const where = ['connection_id = ?'];
    const params: unknown[] = [filter.connectionId];
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.changes !== undefined && filter.changes.length > 0) {
      where.push(`last_action IN (${sqlPlaceholders(filter.changes.length)})`);
      params.push(...filter.changes);
    }
    if (filter.modifiedAfter !== undefined) {
      where.push('last_modified_at > ?');
      params.push(filter.modifiedAfter);
    }
    if (cursor !== undefined) {
      const after = positionOf(cursor);
      where.push('(last_modified_at > ? OR (last_modified_at = ? AND id > ?))');
      params.push(after.at, after.at, after.id);
    }
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM record WHERE ${where.join(' AND ')} ORDER BY last_modified_at, id LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map(recordFromRow);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? cursorAfter(last) : null,
    };
  }

  /** How many records of the type are there (not deleted), and the latest changed few, newest first. */
  async overview(
    connectionId: string,
    type: string,
    latest: number,
  ): Promise<{ available: number; latest: StoredRecord[] }> {
    const manager = this.dataSource.manager;
    const { rows: counted } = await rawSql(
      manager,
      `SELECT count(*) AS n FROM record WHERE connection_id = ? AND type = ? AND deleted_at IS NULL`,
      [connectionId, type],
    );
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM record WHERE connection_id = ? AND type = ? AND deleted_at IS NULL
       ORDER BY last_modified_at DESC, id DESC LIMIT ?`,
      [connectionId, type, latest],
    );
    return { available: Number(counted[0]?.n ?? 0), latest: rows.map(recordFromRow) };
  }

  /** Records held, not marked deleted, across every connection. */
  async countLive(): Promise<number> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT count(*) AS n FROM record WHERE deleted_at IS NULL`,
    );
    return Number(rows[0].n);
  }

  /** One record, from the hot cache when it holds it. */
  find(connectionId: string, externalId: string, type?: string): Promise<StoredRecord | null> {
    return this.cache.read(connectionId, `${type ?? ''}\u0000${externalId}`, () =>
      this.load(connectionId, externalId, type),
    );
  }

  private async load(connectionId: string, externalId: string, type?: string): Promise<StoredRecord | null> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT * FROM record WHERE connection_id = ? AND external_id = ?${type === undefined ? '' : ' AND type = ?'}
       ORDER BY type LIMIT 1`,
      type === undefined ? [connectionId, externalId] : [connectionId, externalId, type],
    );
    return rows.length === 0 ? null : recordFromRow(rows[0]);
  }

  /** What the table holds of these external ids: id, hash, whether it is marked deleted, where it is copied. */
  private async held(
    manager: EntityManager,
    connectionId: string,
    type: string,
    externalIds: string[],
  ): Promise<Map<string, HeldRecord>> {
    const held = new Map<string, HeldRecord>();
    for (const part of inChunks(externalIds, LOOKUP_CHUNK)) {
      const { rows } = await rawSql(
        manager,
        `SELECT id, external_id, hash, deleted_at, stored_connection_id FROM record
         WHERE connection_id = ? AND type = ? AND external_id IN (${sqlPlaceholders(part.length)})`,
        [connectionId, type, ...part],
      );
      for (const row of rows) {
        held.set(sqlText(row.external_id), {
          id: String(row.id),
          hash: sqlText(row.hash),
          deleted: row.deleted_at !== null && row.deleted_at !== undefined,
          storedConnectionId: nullableSqlText(row.stored_connection_id),
        });
      }
    }
    return held;
  }
}

/** The hash of an item's normalised data: its JSON with keys in order. */
function hashOf(data: unknown): string {
  return createHash('sha256').update(stableJson(data)).digest('hex');
}

function recordFromRow(row: Record<string, unknown>): StoredRecord {
  return {
    id: String(row.id),
    connectionId: String(row.connection_id),
    type: sqlText(row.type),
    externalId: sqlText(row.external_id),
    hash: sqlText(row.hash),
    data: JSON.parse(sqlText(row.data)) as unknown,
    title: nullableSqlText(row.title),
    filename: nullableSqlText(row.filename),
    thumbnailUrl: nullableSqlText(row.thumbnail_url),
    size: row.size === null || row.size === undefined ? null : Number(row.size),
    firstSeenAt: readTimestamp(row.first_seen_at)!,
    lastModifiedAt: readTimestamp(row.last_modified_at)!,
    lastAction: sqlText(row.last_action) as RecordAction,
    deletedAt: readTimestamp(row.deleted_at),
    storedConnectionId: nullableSqlText(row.stored_connection_id),
    storedPath: nullableSqlText(row.stored_path),
  };
}

/** Where a page of records ends: the modification time and id of its last record. */
function cursorAfter(record: StoredRecord): string {
  return encodeCursor({ at: record.lastModifiedAt.toISOString(), id: record.id });
}

function positionOf(cursor: string): { at: Date; id: string } {
  const { at, id } = decodeCursor(cursor, ['at', 'id']);
  const time = new Date(at);
  if (Number.isNaN(time.getTime()) || !isUUID(id)) throw invalidCursor();
  return { at: time, id };
}
