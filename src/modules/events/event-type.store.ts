import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { rawSql, readTimestamp } from '../../database/raw-sql.js';
import { EventType } from './event-type.entity.js';

/** How many stored events have a name, and when the last arrived. */
export interface SeenName {
  name: string;
  count: number;
  lastSeenAt: Date | null;
}

/** The event_type table, and what the event table says of the names seen. */
@Injectable()
export class EventTypeStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findByName(
    name: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<EventType | null> {
    return manager.findOneBy(EventType, { name });
  }

  async findAll(): Promise<EventType[]> {
    return this.dataSource.manager.find(EventType);
  }

  async save(manager: EntityManager, type: EventType): Promise<EventType> {
    return manager.save(type);
  }

  /** Deletes the type; false when there was none. */
  async delete(manager: EntityManager, name: string): Promise<boolean> {
    const { affected } = await manager.delete(EventType, { name });
    return Boolean(affected);
  }

  /** One name's count and last time, from the index on (name, received_at) rather than a scan. */
  async seen(name: string): Promise<SeenName | null> {
    const { rows } = await rawSql<SeenRow>(
      this.dataSource.manager,
      `SELECT name, COUNT(*) AS count, MAX(received_at) AS last_seen FROM event WHERE name = ? GROUP BY name`,
      [name],
    );
    return rows.length === 0 ? null : seenName(rows[0]);
  }

  /** Every name of a stored event, with its count and last time. */
  async seenAll(): Promise<SeenName[]> {
    const { rows } = await rawSql<SeenRow>(
      this.dataSource.manager,
      `SELECT name, COUNT(*) AS count, MAX(received_at) AS last_seen FROM event GROUP BY name`,
    );
    return rows.map(seenName);
  }
}

interface SeenRow {
  name: string;
  count: unknown;
  last_seen: unknown;
}

function seenName(row: SeenRow): SeenName {
  return { name: row.name, count: Number(row.count), lastSeenAt: readTimestamp(row.last_seen) };
}
