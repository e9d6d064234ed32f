import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import type { AccountRole } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { rawSql, readTimestamp } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Account } from './account.entity.js';
import { AccountError } from './account.error.js';
import { generateApiKey, hashApiKey, hashMatches, keyPrefix } from './api-key-secret.js';
import { ApiKey } from './api-key.entity.js';

interface CandidateRow {
  id: unknown;
  hash: unknown;
  expires_at: unknown;
  revoked_at: unknown;
  last_used_at: unknown;
  account_id: unknown;
  role: AccountRole;
  disabled: unknown;
}

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

  constructor(
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
    private readonly db: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  /** Creates a key and returns it in clear text, the only time it is ever available. */
  create(caller: Principal, accountId: string, input: NewApiKey): Promise<{ apiKey: ApiKey; key: string }> {
    assertMayManageKeys(caller, accountId);
    return this.db.transaction((manager) => this.insert(manager, accountId, input));
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
    if (!(await manager.existsBy(Account, { id: accountId }))) {
      throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
    }
    const key = input.key ?? generateApiKey();
    const apiKey = manager.create(ApiKey, {
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
    return { apiKey: await manager.save(apiKey), key };
  }

  async list(caller: Principal, accountId: string, page: PageQueryDto): Promise<Page<ApiKey>> {
    assertMayManageKeys(caller, accountId);
    if (!(await this.apiKeys.manager.existsBy(Account, { id: accountId }))) {
      throw new AccountError('ACCOUNT_NOT_FOUND', `no account with id ${accountId}`);
    }
    return paginate(
      this.apiKeys.createQueryBuilder('key').where('key.account_id = :accountId', { accountId }),
      page,
    );
  }

  /** Revoking is immediate and idempotent: the key's next request is refused. */
  revoke(caller: Principal, accountId: string, keyId: string): Promise<ApiKey> {
    assertMayManageKeys(caller, accountId);
    return this.db.transaction(async (manager) => {
      const apiKey = await manager.findOneBy(ApiKey, { id: keyId, accountId });
      if (!apiKey)
        throw new AccountError('API_KEY_NOT_FOUND', `account ${accountId} has no API key ${keyId}`);
      if (!apiKey.revokedAt) {
        apiKey.revokedAt = this.clock.now();
        await manager.save(apiKey);
      }
      return apiKey;
    });
  }

  /**
   * Finds who a key belongs to. The prefix narrows the search; the hash comparison is
   * constant-time. A revoked or expired key, or one of a disabled account, is refused.
   */
  async authenticate(key: string): Promise<Principal> {
    // Every request passes here: one plain query, without building entities.
    const { rows } = await rawSql<CandidateRow>(
      this.apiKeys.manager,
      `SELECT k.id, k.hash, k.expires_at, k.revoked_at, k.last_used_at, a.id AS account_id, a.role, a.disabled
       FROM api_key k JOIN account a ON a.id = k.account_id
       WHERE k.prefix = ?`,
      [keyPrefix(key)],
    );
    const found = rows.find((candidate) => hashMatches(key, String(candidate.hash)));
    if (!found) throw new CommonError('UNAUTHENTICATED', 'invalid API key');
    const now = this.clock.now();
    if (found.revoked_at !== null) throw new CommonError('UNAUTHENTICATED', 'this API key has been revoked');
    const expiresAt = readTimestamp(found.expires_at);
    if (expiresAt && expiresAt <= now) {
      throw new CommonError('UNAUTHENTICATED', 'this API key has expired');
    }
    if (found.disabled === true || Number(found.disabled) === 1)
      throw new CommonError('UNAUTHENTICATED', 'the account of this API key is disabled');
    const apiKeyId = String(found.id);
    await this.touch(apiKeyId, readTimestamp(found.last_used_at), now);
    return { accountId: String(found.account_id), role: found.role, apiKeyId };
  }

  private async touch(apiKeyId: string, lastUsedAt: Date | null, now: Date): Promise<void> {
    if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    try {
      await this.db.transaction((manager) => manager.update(ApiKey, { id: apiKeyId }, { lastUsedAt: now }));
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
