import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Principal } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock.js';
import { SecretBox } from '../../../common/crypto/secret-box.js';
import { AppConfig } from '../../../config/app-config.js';
import { WriteSerializer } from '../../../database/write-serializer.js';
import type { Connection } from '../connection.entity.js';
import { ConnectionError } from '../connection.error.js';
import { ConnectionStore } from '../connection.store.js';
import { ConnectionsService } from '../connections.service.js';
import type { Credentials } from '../credentials.js';
import { PartnerHttpClient } from '../http/partner-http.client.js';
import { ProviderError } from '../http/provider-error.js';
import type { OpenedCredentials, ProviderConnection } from '../provider.decorator.js';
import { ProviderRegistry } from '../provider.registry.js';
import { OAuthStateStore } from './oauth-state.store.js';

/** How long a started authorisation may be called back. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
/** A token this close to its expiry is refreshed before the call that would use it. */
const REFRESH_AHEAD_MS = 60_000;
/** How long one process may hold a connection's refresh; after that another may try. */
const REFRESH_LEASE_MS = 30_000;
/** How often a process waiting for another's refresh looks again. */
const REFRESH_WAIT_STEP_MS = 100;
/** Refresh failing on this many separate days (UTC) means the partner no longer accepts it. */
export const REFRESH_FAILED_DAYS = 3;

export interface OAuthStart {
  provider: string;
  name: string;
  accountId?: string;
  scopes?: string[];
  /** The connection's settings, checked against the provider's schema; `{}` by default. */
  config?: Record<string, unknown>;
}

export interface OAuthStarted {
  authorizationUrl: string;
  state: string;
  expiresAt: Date;
}

/** A provider's OAuth client, with Junction's environment applied over what the provider declares. */
interface OAuthClient {
  clientId: string;
  clientSecret: string | undefined;
  authorizationUrl: string;
  tokenUrl: string;
  scopes: string[];
}

/** What a token endpoint answers (RFC 6749 section 5.1). */
interface TokenResponse {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  token_type?: unknown;
  scope?: unknown;
}

/**
 * OAuth 2 connect (authorization code with PKCE, RFC 7636) and token refresh. `start` keeps a
 * single-use grant for ten minutes and answers the URL to send the person to; `callback`
 * exchanges the code and creates or re-authorises the connection, tokens sealed like every
 * credential. `fresh` refreshes a token about to expire before a call, one process at a time
 * per connection (a lease taken by compare-and-set on the sealed tokens), so a refresh token is
 * never spent twice; a connection is given up on (AUTH) only once refresh has failed on three
 * separate days.
 */
@Injectable()
export class OAuthService {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly connections: ConnectionsService,
    private readonly store: ConnectionStore,
    private readonly grants: OAuthStateStore,
    private readonly http: PartnerHttpClient,
    private readonly serializer: WriteSerializer,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async start(caller: Principal, input: OAuthStart): Promise<OAuthStarted> {
    const client = this.client(input.provider);
    const config = input.config ?? {};
    this.connections.checkConfig(input.provider, config);
    const accountId = await this.connections.ownerFor(caller, input.accountId);
    const now = this.clock.now();
    await this.grants.purgeExpired(now);
    const state = randomToken();
    const verifier = randomToken();
    const scopes = input.scopes ?? client.scopes;
    const expiresAt = new Date(now.getTime() + OAUTH_STATE_TTL_MS);
    await this.grants.insert({
      id: hashOf(state),
      provider: input.provider,
      name: input.name.trim(),
      accountId,
      config,
      scopes,
      verifierSealed: this.box.seal(verifier),
      expiresAt,
      createdAt: now,
    });
    const url = new URL(client.authorizationUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri());
    if (scopes.length > 0) url.searchParams.set('scope', scopes.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    return { authorizationUrl: url.href, state, expiresAt };
  }

  /**
   * Where the partner sends the person back: takes the grant (once), exchanges the code with the
   * grant's verifier, and creates or re-authorises the connection.
   */
  async callback(query: {
    state?: string;
    code?: string;
    error?: string;
  }): Promise<{ connection: Connection; created: boolean }> {
    const grant = query.state ? await this.grants.take(hashOf(query.state)) : null;
    if (!grant) {
      throw new ConnectionError(
        'OAUTH_STATE_INVALID',
        'unknown or already used state; start the authorisation again',
      );
    }
    if (grant.expiresAt <= this.clock.now()) {
      throw new ConnectionError('OAUTH_STATE_INVALID', 'the authorisation expired; start it again');
    }
    if (query.error !== undefined || !query.code) {
      throw new ConnectionError(
        'OAUTH_DENIED',
        `the partner did not authorise Junction: ${query.error ?? 'no code in the callback'}`,
      );
    }
    const client = this.client(grant.provider);
    const verifier = this.box.open(grant.verifierSealed);
    let tokens: Credentials;
    try {
      tokens = await this.requestTokens(
        client,
        {
          grant_type: 'authorization_code',
          code: query.code,
          redirect_uri: this.redirectUri(),
          code_verifier: verifier,
        },
        [query.code, verifier],
        null,
      );
    } catch (error) {
      throw new ConnectionError(
        'OAUTH_EXCHANGE_FAILED',
        `the partner refused the authorisation code: ${(error as Error).message}`,
      );
    }
    return this.connections.authorize(grant, tokens);
  }

  /**
   * The connection opened with a token that will not expire in the next minute: refreshed first
   * when it would. Of several processes that find it expiring, one refreshes and the others wait
   * for its tokens. A failed refresh is a TEMPORARY failure while the old token still works or
   * until refresh has failed on three separate days, then AUTH.
   */
  async fresh(connection: Connection): Promise<ProviderConnection> {
    let current = connection;
    const waitUntil = Date.now() + REFRESH_LEASE_MS + 5_000;
    for (;;) {
      const opened = this.connections.open(current);
      if (!this.expiringSoon(opened.credentials) || !opened.credentials.refreshToken) return opened;
      const now = this.clock.now();
      const sealed = current.credentialsSealed;
      if (
        sealed &&
        (await this.store.leaseRefresh(current.id, sealed, now, new Date(now.getTime() + REFRESH_LEASE_MS)))
      )
        return this.refresh(current, opened);
      if (Date.now() > waitUntil) {
        throw new ProviderError(
          'TEMPORARY',
          `connection ${current.name}: another process is still refreshing its token`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, REFRESH_WAIT_STEP_MS));
      const latest = await this.store.find(current.id);
      if (!latest) throw new ProviderError('PERMANENT', `no connection with id ${current.id}`);
      current = latest;
    }
  }

  /** Refreshes under the lease this process holds. */
  private async refresh(connection: Connection, opened: ProviderConnection): Promise<ProviderConnection> {
    const old = opened.credentials;
    const now = this.clock.now();
    try {
      const client = this.client(connection.provider);
      const tokens = await this.requestTokens(
        client,
        { grant_type: 'refresh_token', refresh_token: old.refreshToken },
        [old.refreshToken, old.accessToken],
        old,
      );
      const sealed = this.connections.seal(tokens);
      await this.serializer.transaction((manager) =>
        this.store.refreshed(manager, connection.id, sealed, now),
      );
      return this.connections.open({ ...connection, credentialsSealed: sealed });
    } catch (error) {
      if (isInvalidGrant(error)) {
        // Another process may have refreshed between this one's read and its lease expiring:
        // the refresh token it spent is gone, and its tokens are the ones to use.
        const latest = await this.store.find(connection.id);
        if (latest && latest.credentialsSealed !== connection.credentialsSealed) {
          await this.serializer.transaction((manager) => this.store.releaseRefresh(manager, connection.id));
          return this.connections.open(latest);
        }
      }
      const day = now.toISOString().slice(0, 10);
      const days = [...new Set([...(connection.refreshFailures ?? []), day])].sort();
      await this.serializer.transaction((manager) => this.store.refreshFailed(manager, connection.id, days));
      const why = error instanceof Error ? error.message : String(error);
      if (days.length >= REFRESH_FAILED_DAYS) {
        throw new ProviderError(
          'AUTH',
          `connection ${connection.name}: token refresh failed on ${days.length} separate days (${days.join(', ')}), last: ${why}`,
        );
      }
      // The token in hand may still work for a while: the call goes ahead with it.
      if (!this.expired(old)) return opened;
      throw new ProviderError('TEMPORARY', `connection ${connection.name}: token refresh failed: ${why}`, {
        cause: error,
      });
    }
  }

  /** Calls the token endpoint; answers the new credentials (keeping `previous`'s refresh token if none came). */
  private async requestTokens(
    client: OAuthClient,
    form: Record<string, string>,
    secrets: string[],
    previous: OpenedCredentials | null,
  ): Promise<Credentials> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const body = new URLSearchParams(form);
    if (client.clientSecret !== undefined) {
      // RFC 6749 section 2.3.1: the client authenticates with HTTP Basic, each part form-encoded.
      const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    } else {
      body.set('client_id', client.clientId);
    }
    const response = await this.http.request({
      method: 'POST',
      url: client.tokenUrl,
      headers,
      body: body.toString(),
      secrets: [...secrets, ...(client.clientSecret ? [client.clientSecret] : [])],
    });
    const answer = (response.body ?? {}) as TokenResponse;
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new ProviderError('PERMANENT', 'the token endpoint answered without an access_token');
    }
    const expiresIn = Number(answer.expires_in);
    const now = this.clock.now();
    return {
      type: 'oauth2',
      fields: {
        accessToken: answer.access_token,
        refreshToken:
          typeof answer.refresh_token === 'string' ? answer.refresh_token : (previous?.refreshToken ?? ''),
        expiresAt:
          Number.isFinite(expiresIn) && expiresIn > 0
            ? new Date(now.getTime() + expiresIn * 1000).toISOString()
            : '',
        tokenType: typeof answer.token_type === 'string' ? answer.token_type : 'Bearer',
        scope: typeof answer.scope === 'string' ? answer.scope : (previous?.scope ?? ''),
      },
    };
  }

  private client(providerKey: string): OAuthClient {
    const provider = this.registry.find(providerKey);
    if (!provider) {
      throw new ConnectionError('INVALID_CONNECTION', `no provider has the key ${providerKey}`, [
        { path: '/provider', message: `no provider has the key ${providerKey}` },
      ]);
    }
    const declared = provider.metadata.oauth2;
    if (!declared || !provider.metadata.credentialTypes.includes('oauth2')) {
      throw new ConnectionError(
        'OAUTH_NOT_SUPPORTED',
        `provider ${providerKey} does not take oauth2 credentials`,
      );
    }
    const set = this.config.oauthClients[providerKey] ?? {};
    const clientId = set.clientId ?? declared.clientId;
    if (!clientId) {
      const variable = `JUNCTION_OAUTH_${providerKey.toUpperCase().replace(/-/g, '_')}_CLIENT_ID`;
      throw new ConnectionError(
        'OAUTH_NOT_CONFIGURED',
        `no OAuth client for ${providerKey}: set ${variable}`,
      );
    }
    return {
      clientId,
      clientSecret: set.clientSecret ?? declared.clientSecret,
      authorizationUrl: set.authorizationUrl ?? declared.authorizationUrl,
      tokenUrl: set.tokenUrl ?? declared.tokenUrl,
      scopes: declared.scopes ?? [],
    };
  }

  private redirectUri(): string {
    return `${this.config.publicUrl}/connections/oauth/callback`;
  }

  private expiringSoon(credentials: OpenedCredentials): boolean {
    const at = Date.parse(credentials.expiresAt ?? '');
    return Number.isFinite(at) && at - this.clock.now().getTime() < REFRESH_AHEAD_MS;
  }

  private expired(credentials: OpenedCredentials): boolean {
    const at = Date.parse(credentials.expiresAt ?? '');
    return Number.isFinite(at) && at <= this.clock.now().getTime();
  }
}

/** 32 random bytes, base64url: a state or a PKCE verifier (43 characters, RFC 7636 section 4.1). */
function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function hashOf(state: string): string {
  return createHash('sha256').update(state).digest('hex');
}

/** The token endpoint said the refresh token (or code) is no longer valid (RFC 6749 section 5.2). */
function isInvalidGrant(error: unknown): boolean {
  if (!(error instanceof ProviderError) || !error.responseText) return false;
  try {
    return (JSON.parse(error.responseText) as { error?: unknown }).error === 'invalid_grant';
  } catch {
    return false;
  }
}
