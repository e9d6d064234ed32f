import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Session } from './session.entity.js';

/** The console_session table. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class SessionStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(manager: EntityManager, session: Session): Promise<void> {
    await manager.insert(Session, session);
  }

  /** Every authenticated dashboard request passes here: one lookup by the unique hash. */
  findByTokenHash(tokenHash: string): Promise<Session | null> {
    return this.dataSource.manager.findOneBy(Session, { tokenHash });
  }

  /** Removes the sessions that can never be used again: expired, or signed out. */
  async deleteEnded(manager: EntityManager, now: Date): Promise<void> {
    await manager
      .createQueryBuilder()
      .delete()
      .from(Session)
      .where('expires_at <= :now OR revoked_at IS NOT NULL', { now })
      .execute();
  }

  async revoke(manager: EntityManager, id: string, at: Date): Promise<void> {
    await manager
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: at })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
  }
}
