import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AccountRole } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Account } from './account.entity.js';
import { AccountError } from './account.error.js';
import { AccountStore } from './account.store.js';

export interface NewAccount {
  name: string;
  email: string;
  role: AccountRole;
}

export type AccountChanges = Partial<NewAccount & { disabled: boolean }>;

/**
 * Told in the deleting transaction that an account goes, before its rows do: for what other
 * modules keep of it that no foreign key removes (its connections' schedules).
 */
export type AccountRemovalListener = (manager: EntityManager, accountId: string) => Promise<void>;

@Injectable()
export class AccountsService {
  private readonly removalListeners: AccountRemovalListener[] = [];

  constructor(
    private readonly accounts: AccountStore,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  create(input: NewAccount): Promise<Account> {
    return this.serializer.transaction((manager) => this.insert(manager, input));
  }

  /** Inserts within the caller's transaction (used by the first-start bootstrap). */
  async insert(manager: EntityManager, input: NewAccount): Promise<Account> {
    const email = normalizeEmail(input.email);
    await this.assertEmailFree(manager, email);
    const now = this.clock.now();
    const account = Object.assign(new Account(), {
      id: newId(now.getTime()),
      name: input.name.trim(),
      email,
      role: input.role,
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    return this.saveUnique(manager, account);
  }

  list(page: PageQueryDto): Promise<Page<Account>> {
    return this.accounts.page(page);
  }

  async get(id: string): Promise<Account> {
    const account = await this.accounts.find(id);
    if (!account) throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${id}`);
    return account;
  }

  update(id: string, changes: AccountChanges): Promise<Account> {
    return this.serializer.transaction(async (manager) => {
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
      return this.saveUnique(manager, account);
    });
  }

  /** Deletes the account, and through foreign keys and removal listeners everything of it. */
  remove(id: string): Promise<void> {
    return this.serializer.transaction(async (manager) => {
      const account = await this.accounts.findForRemoval(manager, id);
      if (!account) throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${id}`);
      if (account.role === 'admin' && !account.disabled) await this.assertAnotherAdmin(manager, account.id);
      for (const listener of this.removalListeners) await listener(manager, id);
      await this.accounts.remove(manager, id);
    });
  }

  onRemove(listener: AccountRemovalListener): void {
    this.removalListeners.push(listener);
  }

  /** The account of that email (in any case), or null. */
  findByEmail(email: string): Promise<Account | null> {
    return this.accounts.findByEmail(normalizeEmail(email));
  }

  /** How many accounts there are, and when the newest signed up. */
  totals(): Promise<{ total: number; lastSignupAt: Date | null }> {
    return this.accounts.totals();
  }

  isEmpty(manager: EntityManager): Promise<boolean> {
    return this.accounts.isEmpty(manager);
  }

  private async getIn(manager: EntityManager, id: string): Promise<Account> {
    const account = await this.accounts.find(id, manager);
    if (!account) throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${id}`);
    return account;
  }

  private async assertEmailFree(manager: EntityManager, email: string): Promise<void> {
    if (await this.accounts.emailTaken(manager, email)) {
      throw new AccountError('EMAIL_TAKEN', `an account with email ${email} exists already`);
    }
  }

  /** Junction must keep one enabled admin, or nobody could manage it any more. */
  private async assertAnotherAdmin(manager: EntityManager, exceptId: string): Promise<void> {
    if ((await this.accounts.countOtherAdmins(manager, exceptId)) === 0) {
      throw new AccountError(
        'LAST_ADMIN',
        'this is the last enabled admin account; make another admin first',
      );
    }
  }

  /** The email check races with a concurrent write on PostgreSQL; the unique index decides. */
  private async saveUnique(manager: EntityManager, account: Account): Promise<Account> {
    const saved = await this.accounts.save(manager, account);
    if (saved === 'email-taken') {
      throw new AccountError('EMAIL_TAKEN', `an account with email ${account.email} exists already`);
    }
    return saved;
  }
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
