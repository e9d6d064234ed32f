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

  /**
   * Moves the cursor to `cursor` if `isLater` finds it later than the stored one, in the caller's
   * transaction (the one that stores what was read up to it). Two polls of one poller may run at
   * once (a manual trigger while the schedule's job runs): the row is taken first (locked on
   * PostgreSQL; SQLite has one writer), so the one that read less cannot move it back.
   */
  async advance(
    manager: EntityManager,
    connectionId: string,
    poller: string,
    cursor: string,
    at: Date,
    isLater: (cursor: string, stored: string) => boolean,
  ): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(PollCursor)
      .values({ connectionId, poller, cursor, updatedAt: at })
      .orIgnore()
      .execute();
    const query = manager
      .createQueryBuilder(PollCursor, 'c')
      .where('c.connection_id = :connectionId AND c.poller = :poller', { connectionId, poller });
    if (manager.connection.options.type === 'postgres') query.setLock('pessimistic_write');
    const stored = await query.getOne();
    if (stored && stored.cursor !== cursor && isLater(cursor, stored.cursor)) {
      await manager.update(PollCursor, { connectionId, poller }, { cursor, updatedAt: at });
    }
  }
}
