import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import {
  inChunks,
  nullableSqlText,
  rawSql,
  readTimestamp,
  sqlPlaceholders,
  sqlText,
} from '../../database/raw-sql.js';
import { Event } from './event.entity.js';

/** An event to insert, with its data already serialized (the size check did it once). */
export interface NewEventRow {
  event: Event;
  dataJson: string;
}

/** Where an event stands in the order events are paged in: by time received, then by id. */
export interface EventPosition {
  receivedAt: Date;
  id: string;
}

/** What the event list can filter on in SQL. */
export interface EventListQuery {
  source?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
  /** The exact name. */
  name?: string;
  /** A prefix of the name (the literal head of a glob, matched in full by the caller). */
  namePrefix?: string;
}

/** Rows per statement: 10 parameters each stays under SQLite's and PostgreSQL's limits. */
const INSERT_CHUNK = 500;

/** The event table: every SQL statement and row mapping of events. */
@Injectable()
export class EventStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<Event | null> {
    return manager.findOneBy(Event, { id });
  }

  /**
   * After a write failed: the event stored under (source, idempotency key) when the failure was
   * that key's unique index (another process stored the same key first), otherwise null.
   */
  async existingAfterConflict(error: unknown, source: string, idempotencyKey: string): Promise<Event | null> {
    if (!isUniqueViolation(error)) return null;
    return this.dataSource.manager.findOneBy(Event, { source, idempotencyKey });
  }

  /** The stored events that hold any of these (source, idempotency key) pairs, in few statements. */
  async findByKeys(
    manager: EntityManager,
    keys: { source: string; idempotencyKey: string }[],
  ): Promise<Event[]> {
    const found: Event[] = [];
    for (const chunk of inChunks(keys, INSERT_CHUNK)) {
      const { rows } = await rawSql(
        manager,
        `SELECT * FROM event WHERE ${chunk.map(() => '(source = ? AND idempotency_key = ?)').join(' OR ')}`,
        chunk.flatMap((key) => [key.source, key.idempotencyKey]),
      );
      found.push(...rows.map(eventFromRow));
    }
    return found;
  }

  /** Inserts the events in the caller's transaction: one statement per 500 events. */
  async insert(manager: EntityManager, events: NewEventRow[]): Promise<void> {
    for (const chunk of inChunks(events, INSERT_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO event (id, name, source, data, idempotency_key, occurred_at, received_at, posted_by,
       causation_depth, caused_by_job)
     VALUES ${chunk.map(() => `(${sqlPlaceholders(10)})`).join(', ')}`,
        chunk.flatMap(({ event, dataJson }) => [
          event.id,
          event.name,
          event.source,
          dataJson,
          event.idempotencyKey,
          event.occurredAt,
          event.receivedAt,
          event.postedBy,
          event.causationDepth,
          event.causedByJob,
        ]),
      );
    }
  }

  /** The causation depth of an event, or null when it is gone. */
  async depthOf(manager: EntityManager, eventId: string): Promise<number | null> {
    const { rows } = await rawSql<{ causation_depth: number }>(
      manager,
      `SELECT causation_depth FROM event WHERE id = ?`,
      [eventId],
    );
    return rows.length === 0 ? null : Number(rows[0].causation_depth);
  }

  /** One page of events by id, filtered in SQL. */
  async list(query: EventListQuery, page: PageQueryDto): Promise<Page<Event>> {
    const builder = this.dataSource.manager.createQueryBuilder(Event, 'event');
    if (query.source !== undefined) builder.andWhere('event.source = :source', { source: query.source });
    if (query.from) builder.andWhere('event.receivedAt >= :from', { from: query.from });
    if (query.to) builder.andWhere('event.receivedAt < :to', { to: query.to });
    if (query.namePrefix) builder.andWhere('event.name LIKE :head', { head: `${query.namePrefix}%` });
    if (query.name !== undefined) builder.andWhere('event.name = :name', { name: query.name });
    return paginate(builder, page);
  }

  /** Up to `limit` events received in [from, to) after `after`, in the order they were received. */
  async receivedBetween(
    manager: EntityManager,
    range: { from: Date; to: Date },
    after: EventPosition | null,
    limit: number,
  ): Promise<Event[]> {
    const query = manager
      .createQueryBuilder(Event, 'event')
      .where('event.receivedAt >= :from AND event.receivedAt < :to', { from: range.from, to: range.to })
      .orderBy('event.receivedAt', 'ASC')
      .addOrderBy('event.id', 'ASC')
      .take(limit);
    if (after) {
      query.andWhere('(event.receivedAt > :at OR (event.receivedAt = :at AND event.id > :id))', {
        at: after.receivedAt,
        id: after.id,
      });
    }
    return query.getMany();
  }

  /** Events received in [from, to). */
  async countBetween(from: Date, to: Date): Promise<number> {
    return this.dataSource.manager
      .createQueryBuilder(Event, 'event')
      .where('event.receivedAt >= :from AND event.receivedAt < :to', { from, to })
      .getCount();
  }

  /** Up to `limit` events received before `cutoff`, after `after`, oldest first: ids and times only. */
  async receivedBefore(cutoff: Date, after: EventPosition | null, limit: number): Promise<EventPosition[]> {
    const { rows } = await rawSql<{ id: string; received_at: unknown }>(
      this.dataSource.manager,
      `SELECT id, received_at FROM event
         WHERE received_at < ?${after ? ' AND (received_at > ? OR (received_at = ? AND id > ?))' : ''}
         ORDER BY received_at, id LIMIT ${limit}`,
      after ? [cutoff, after.receivedAt, after.receivedAt, after.id] : [cutoff],
    );
    return rows.map((row) => ({ id: String(row.id), receivedAt: readTimestamp(row.received_at)! }));
  }

  /** Deletes these events; returns how many were deleted. */
  async deleteByIds(manager: EntityManager, ids: string[]): Promise<number> {
    const { affected } = await rawSql(
      manager,
      `DELETE FROM event WHERE id IN (${sqlPlaceholders(ids.length)})`,
      ids,
    );
    return affected;
  }
}

/** An event row read by raw SQL, converted as TypeORM would. */
function eventFromRow(row: Record<string, unknown>): Event {
  const event = new Event();
  event.id = String(row.id);
  event.name = String(row.name);
  event.source = String(row.source);
  event.data = JSON.parse(sqlText(row.data));
  event.idempotencyKey = nullableSqlText(row.idempotency_key);
  event.occurredAt = readTimestamp(row.occurred_at)!;
  event.receivedAt = readTimestamp(row.received_at)!;
  event.postedBy = nullableSqlText(row.posted_by);
  event.causationDepth = Number(row.causation_depth);
  event.causedByJob = nullableSqlText(row.caused_by_job);
  return event;
}
