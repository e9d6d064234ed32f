import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { Account } from './account.entity.js';
import { AccountError } from './account.error.js';
import { generateApiKey, hashApiKey, hashMatches, keyPrefix } from './api-key-secret.js';
import { ApiKey } from './api-key.entity.js';

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
    const candidates = await this.apiKeys.find({
      where: { prefix: keyPrefix(key) },
      relations: { account: true },
    });
    const apiKey = candidates.find((candidate) => hashMatches(key, candidate.hash));
    if (!apiKey?.account) throw new CommonError('UNAUTHENTICATED', 'invalid API key');
    const now = this.clock.now();
    if (apiKey.revokedAt) throw new CommonError('UNAUTHENTICATED', 'this API key has been revoked');
    if (apiKey.expiresAt && apiKey.expiresAt <= now) {
      throw new CommonError('UNAUTHENTICATED', 'this API key has expired');
    }
    if (apiKey.account.disabled)
      throw new CommonError('UNAUTHENTICATED', 'the account of this API key is disabled');
    await this.touch(apiKey, now);
    return { accountId: apiKey.account.id, role: apiKey.account.role, apiKeyId: apiKey.id };
  }

  private async touch(apiKey: ApiKey, now: Date): Promise<void> {
    if (apiKey.lastUsedAt && now.getTime() - apiKey.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    try {
      await this.db.transaction((manager) => manager.update(ApiKey, { id: apiKey.id }, { lastUsedAt: now }));
    } catch (error) {
      // Losing a lastUsedAt update must not refuse a valid request.
      this.logger.warn({ err: error, apiKeyId: apiKey.id }, 'could not record API key use');
    }
  }
}

/** Admins manage every account's keys; anyone else only their own. */
function assertMayManageKeys(caller: Principal, accountId: string): void {
  if (caller.accountId !== accountId && !roleAtLeast(caller.role, 'admin')) {
    throw new AccountError('NOT_YOUR_ACCOUNT', "only an admin may manage another account's API keys");
  }
}
