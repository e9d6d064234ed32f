import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AccountError } from './account.error.js';
import { AccountStore } from './account.store.js';
import { generateApiKey, hashApiKey, hashMatches, keyPrefix } from './api-key-secret.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeyStore } from './api-key.store.js';
import type { KeyCandidate } from './api-key.store.js';

/** lastUsedAt is a hint for people, so it is written at most this often per key. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface NewApiKey {
  name: string;
  expiresAt?: Date;
  /** A key chosen by the operator (`JUNCTION_ADMIN_KEY`); generated when absent. */
  key?: string;
}

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly otherKinds = new Map<string, (key: string) => Promise<Principal>>();
  private sessions?: (token: string) => Promise<Principal>;

  constructor(
    private readonly apiKeys: ApiKeyStore,
    private readonly accounts: AccountStore,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  /** Creates a key and returns it in clear text, the only time it is ever available. */
  create(caller: Principal, accountId: string, input: NewApiKey): Promise<{ apiKey: ApiKey; key: string }> {
    assertMayManageKeys(caller, accountId);
    return this.serializer.transaction((manager) => this.insert(manager, accountId, input));
  }

  async insert(
    manager: EntityManager,
    accountId: string,
    input: NewApiKey,
  ): Promise<{ apiKey: ApiKey; key: string }> {
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt <= now) {
      throw new AccountError('EXPIRY_IN_PAST', 'expiresAt must be in the future');
    }
    if (!(await this.accounts.exists(accountId, manager))) {
      throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
    }
    const key = input.key ?? generateApiKey();
    const apiKey = Object.assign(new ApiKey(), {
      id: newId(now.getTime()),
      accountId,
      name: input.name.trim(),
      prefix: keyPrefix(key),
      hash: hashApiKey(key),
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
      createdAt: now,
    });
    return { apiKey: await this.apiKeys.save(manager, apiKey), key };
  }

  async list(caller: Principal, accountId: string, page: PageQueryDto): Promise<Page<ApiKey>> {
    assertMayManageKeys(caller, accountId);
    if (!(await this.accounts.exists(accountId))) {
      throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
    }
    return this.apiKeys.pageOfAccount(accountId, page);
  }

  /** Revoking is immediate and idempotent: the key's next request is refused. */
  revoke(caller: Principal, accountId: string, keyId: string): Promise<ApiKey> {
    assertMayManageKeys(caller, accountId);
    return this.serializer.transaction(async (manager) => {
      const apiKey = await this.apiKeys.findOfAccount(manager, accountId, keyId);
      if (!apiKey)
        throw new AccountError('API_KEY_NOT_FOUND', `account ${accountId} has no API key ${keyId}`);
      if (!apiKey.revokedAt) {
        apiKey.revokedAt = this.clock.now();
        await this.apiKeys.save(manager, apiKey);
      }
      return apiKey;
    });
  }

  /**
   * Lets another module authenticate keys of its own kind, told apart by their mark (a project
   * token's `jpt_`): such a key is theirs to accept or refuse.
   */
  acceptKeys(mark: string, authenticate: (key: string) => Promise<Principal>): void {
    this.otherKinds.set(mark, authenticate);
  }

  /** Lets the console module authenticate the dashboard's session cookie. */
  acceptSessions(authenticate: (token: string) => Promise<Principal>): void {
    this.sessions = authenticate;
  }

  authenticateSession(token: string): Promise<Principal> {
    if (!this.sessions) throw new CommonError('UNAUTHENTICATED', 'sessions are not accepted here');
    return this.sessions(token);
  }

  /**
   * Finds who a key belongs to. The prefix narrows the search; the hash comparison is
   * constant-time. A revoked or expired key, or one of a disabled account, is refused.
   */
  async authenticate(key: string): Promise<Principal> {
    for (const [mark, authenticate] of this.otherKinds) if (key.startsWith(mark)) return authenticate(key);
    const candidates = await this.apiKeys.candidates(keyPrefix(key));
    const found = candidates.find((candidate) => hashMatches(key, candidate.hash));
    if (!found) throw new CommonError('UNAUTHENTICATED', 'invalid API key');
    return this.accept(found);
  }

  /**
   * Who the key with this id acts for now, checked as its key itself would be: a session is refused
   * from the moment its key is revoked or expires, and has the role its account has today.
   */
  async principalOfKey(apiKeyId: string): Promise<Principal> {
    const found = await this.apiKeys.candidateById(apiKeyId);
    if (!found) throw new CommonError('UNAUTHENTICATED', 'the API key of this session no longer exists');
    return this.accept(found);
  }

  private async accept(found: KeyCandidate): Promise<Principal> {
    const now = this.clock.now();
    if (found.revoked) throw new CommonError('UNAUTHENTICATED', 'this API key has been revoked');
    if (found.expiresAt && found.expiresAt <= now) {
      throw new CommonError('UNAUTHENTICATED', 'this API key has expired');
    }
    if (found.accountDisabled)
      throw new CommonError('UNAUTHENTICATED', 'the account of this API key is disabled');
    await this.touch(found.id, found.lastUsedAt, now);
    return { accountId: found.accountId, role: found.role, apiKeyId: found.id };
  }

  private async touch(apiKeyId: string, lastUsedAt: Date | null, now: Date): Promise<void> {
    if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    try {
      await this.serializer.transaction((manager) => this.apiKeys.touch(manager, apiKeyId, now));
    } catch (error) {
      // Losing a lastUsedAt update must not refuse a valid request.
      this.logger.warn({ err: error, apiKeyId }, 'could not record API key use');
    }
  }
}

/** Admins manage every account's keys; anyone else only their own. */
function assertMayManageKeys(caller: Principal, accountId: string): void {
  if (caller.accountId !== accountId && !roleAtLeast(caller.role, 'admin')) {
    throw new AccountError('NOT_YOUR_ACCOUNT', "only an admin may manage another account's API keys");
  }
}
