import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { PollCursor } from './poll-cursor.entity.js';

/** The poll_cursor table: one row per (connection, poller) that has read something. */
@Injectable()
export class PollCursorStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async find(connectionId: string, poller: string): Promise<string | null> {
    const row = await this.dataSource.manager.findOneBy(PollCursor, { connectionId, poller });
    return row?.cursor ?? null;
  }

  /** Sets the cursor, in the caller's transaction (the one that stores what was read up to it). */
  async save(
    manager: EntityManager,
    connectionId: string,
    poller: string,
    cursor: string,
    at: Date,
  ): Promise<void> {
    await manager.upsert(PollCursor, { connectionId, poller, cursor, updatedAt: at }, [
      'connectionId',
      'poller',
    ]);
  }
}
