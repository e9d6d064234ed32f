import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal.js';
import type { AccountRole } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { hashApiKey } from '../accounts/accounts.contract.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { ApiKeysService } from '../accounts/api-keys.service.js';
import { Session } from './session.entity.js';
import { SessionStore } from './session.store.js';
import { generateSessionToken } from './session-token.js';

/** A working day: long enough not to interrupt an operator, short enough that a forgotten tab ends. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export interface SignedIn {
  account: { id: string; name: string; email: string };
  role: AccountRole;
  expiresAt: Date | null;
}

/**
 * Dashboard sessions: an API key is exchanged once for a session token that lives in an HttpOnly
 * cookie. A session acts exactly as its key: same account, same role, refused once the key is.
 */
@Injectable()
export class SessionsService implements OnModuleInit {
  constructor(
    private readonly sessions: SessionStore,
    private readonly apiKeys: ApiKeysService,
    private readonly accounts: AccountsService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.apiKeys.acceptSessions((token) => this.authenticate(token));
  }

  /** Checks the key and opens a session for it; the token is returned once, for the cookie. */
  async signIn(apiKey: string): Promise<{ token: string; signedIn: SignedIn }> {
    const principal = await this.apiKeys.authenticate(apiKey);
    if (principal.projectId !== undefined) {
      throw new CommonError(
        'UNAUTHENTICATED',
        'a project token cannot sign in to the dashboard; use an API key',
      );
    }
    const now = this.clock.now();
    const token = generateSessionToken();
    const session = Object.assign(new Session(), {
      id: newId(now.getTime()),
      accountId: principal.accountId,
      apiKeyId: principal.apiKeyId,
      tokenHash: hashApiKey(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + SESSION_TTL_SECONDS * 1000),
      revokedAt: null,
    });
    // Sign-ins are rare, and the ended sessions few: each one sweeps them, so the table stays small.
    await this.serializer.transaction(async (manager) => {
      await this.sessions.deleteEnded(manager, now);
      await this.sessions.insert(manager, session);
    });
    return { token, signedIn: await this.describe(principal, session.expiresAt) };
  }

  async authenticate(token: string): Promise<Principal> {
    const session = await this.sessions.findByTokenHash(hashApiKey(token));
    if (!session || session.revokedAt || session.expiresAt <= this.clock.now()) {
      throw new CommonError('UNAUTHENTICATED', 'your session has ended: sign in again');
    }
    const principal = await this.apiKeys.principalOfKey(session.apiKeyId);
    return { ...principal, sessionId: session.id, sessionExpiresAt: session.expiresAt };
  }

  whoIs(principal: Principal): Promise<SignedIn> {
    return this.describe(principal, principal.sessionExpiresAt ?? null);
  }

  /** Ends the caller's session at once, server-side: its cookie is refused from now on. */
  async signOut(principal: Principal): Promise<void> {
    const sessionId = principal.sessionId;
    if (!sessionId) return;
    await this.serializer.transaction((manager) =>
      this.sessions.revoke(manager, sessionId, this.clock.now()),
    );
  }

  private async describe(principal: Principal, expiresAt: Date | null): Promise<SignedIn> {
    const account = await this.accounts.get(principal.accountId);
    return {
      account: { id: account.id, name: account.name, email: account.email },
      role: principal.role,
      expiresAt,
    };
  }
}
