import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { rawSql, readTimestamp } from '../../database/raw-sql.js';
import { Account } from './account.entity.js';

/** The account table. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class AccountStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts or updates; answers `'email-taken'` when the unique index on email refuses it (two
   * writers can both pass a check for a free email on PostgreSQL; the index decides).
   */
  async save(manager: EntityManager, account: Account): Promise<Account | 'email-taken'> {
    try {
      return await manager.save(account);
    } catch (error) {
      if (isUniqueViolation(error)) return 'email-taken';
      throw error;
    }
  }

  page(page: PageQueryDto): Promise<Page<Account>> {
    return paginate(this.dataSource.manager.createQueryBuilder(Account, 'account'), page);
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<Account | null> {
    return manager.findOneBy(Account, { id });
  }

  /**
   * The account, its row locked until the deleting transaction ends (PostgreSQL; SQLite runs one
   * write at a time). A row that names it, such as a new connection, waits for the lock and then
   * finds it gone, so nothing of the account is added while its removal listeners run.
   */
  findForRemoval(manager: EntityManager, id: string): Promise<Account | null> {
    const postgres = manager.connection.options.type === 'postgres';
    return manager.findOne(Account, {
      where: { id },
      ...(postgres ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  }

  findByEmail(email: string): Promise<Account | null> {
    return this.dataSource.manager.findOneBy(Account, { email });
  }

  exists(id: string, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    return manager.existsBy(Account, { id });
  }

  emailTaken(manager: EntityManager, email: string): Promise<boolean> {
    return manager.existsBy(Account, { email });
  }

  /** How many accounts there are, and when the newest was made. */
  async totals(): Promise<{ total: number; lastSignupAt: Date | null }> {
    const { rows } = await rawSql(
      this.dataSource.manager,
      `SELECT count(*) AS total, max(created_at) AS last FROM account`,
    );
    return { total: Number(rows[0].total), lastSignupAt: readTimestamp(rows[0].last) };
  }

  async isEmpty(manager: EntityManager): Promise<boolean> {
    return (await manager.count(Account)) === 0;
  }

  /** Enabled admins other than `exceptId`. */
  countOtherAdmins(manager: EntityManager, exceptId: string): Promise<number> {
    return manager
      .createQueryBuilder(Account, 'account')
      .where('account.role = :role AND account.disabled = :disabled AND account.id != :id', {
        role: 'admin',
        disabled: false,
        id: exceptId,
      })
      .getCount();
  }

  /** Deletes the account and, through the foreign key, its API keys. */
  async remove(manager: EntityManager, id: string): Promise<void> {
    await manager.delete(Account, { id });
  }
}
