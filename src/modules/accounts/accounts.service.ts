import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { AccountRole } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Account } from './account.entity.js';
import { AccountError } from './account.error.js';

export interface NewAccount {
  name: string;
  email: string;
  role: AccountRole;
}

export type AccountChanges = Partial<NewAccount & { disabled: boolean }>;

@Injectable()
export class AccountsService {
  constructor(
    @InjectRepository(Account) private readonly accounts: Repository<Account>,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  create(input: NewAccount): Promise<Account> {
    return this.db.transaction((manager) => this.insert(manager, input));
  }

  /** Inserts within the caller's transaction (used by the first-start bootstrap). */
  async insert(manager: EntityManager, input: NewAccount): Promise<Account> {
    const email = normalizeEmail(input.email);
    await this.assertEmailFree(manager, email);
    const now = this.clock.now();
    const account = manager.create(Account, {
      id: newId(now.getTime()),
      name: input.name.trim(),
      email,
      role: input.role,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    return saveUnique(manager, account);
  }

  list(page: PageQueryDto): Promise<Page<Account>> {
    return paginate(this.accounts.createQueryBuilder('account'), page);
  }

  async get(id: string): Promise<Account> {
    const account = await this.accounts.findOneBy({ id });
    if (!account) throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${id}`);
    return account;
  }

  update(id: string, changes: AccountChanges): Promise<Account> {
    return this.db.transaction(async (manager) => {
      const account = await this.getIn(manager, id);
      if (changes.email !== undefined) {
        const email = normalizeEmail(changes.email);
        if (email !== account.email) await this.assertEmailFree(manager, email);
        account.email = email;
      }
      const losesAdmin =
        account.role === 'admin' &&
        !account.disabled &&
        ((changes.role !== undefined && changes.role !== 'admin') || changes.disabled === true);
      if (losesAdmin) await this.assertAnotherAdmin(manager, account.id);
      if (changes.name !== undefined) account.name = changes.name.trim();
      if (changes.role !== undefined) account.role = changes.role;
      if (changes.disabled !== undefined) account.disabled = changes.disabled;
      account.updatedAt = this.clock.now();
      return saveUnique(manager, account);
    });
  }

  /** Deletes the account and, through the foreign key, its API keys. */
  remove(id: string): Promise<void> {
    return this.db.transaction(async (manager) => {
      const account = await this.getIn(manager, id);
      if (account.role === 'admin' && !account.disabled) await this.assertAnotherAdmin(manager, account.id);
      await manager.delete(Account, { id });
    });
  }

  async isEmpty(manager: EntityManager): Promise<boolean> {
    return (await manager.count(Account)) === 0;
  }

  private async getIn(manager: EntityManager, id: string): Promise<Account> {
    const account = await manager.findOneBy(Account, { id });
    if (!account) throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${id}`);
    return account;
  }

  private async assertEmailFree(manager: EntityManager, email: string): Promise<void> {
    if (await manager.existsBy(Account, { email })) {
      throw new AccountError('EMAIL_TAKEN', `an account with email ${email} exists already`);
    }
  }

  /** Junction must keep one enabled admin, or nobody could manage it any more. */
  private async assertAnotherAdmin(manager: EntityManager, exceptId: string): Promise<void> {
    const admins = await manager
      .createQueryBuilder(Account, 'account')
      .where('account.role = :role AND account.disabled = :disabled AND account.id != :id', {
        role: 'admin',
        disabled: false,
        id: exceptId,
      })
      .getCount();
    if (admins === 0) {
      throw new AccountError(
        'LAST_ADMIN',
        'this is the last enabled admin account; make another admin first',
      );
    }
  }
}

/** The email check above races with a concurrent write on PostgreSQL; the unique index decides. */
async function saveUnique(manager: EntityManager, account: Account): Promise<Account> {
  try {
    return await manager.save(account);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AccountError('EMAIL_TAKEN', `an account with email ${account.email} exists already`);
    }
    throw error;
  }
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
