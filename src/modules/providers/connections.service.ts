import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import { Clock } from '../../common/clock.js';
import { SecretBox } from '../../common/crypto/secret-box.js';
import { hasErrorCode } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import type { SchemaViolation } from '../../common/json-schema.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { ConnectionSchedules } from './connection-schedules.service.js';
import { Connection } from './connection.entity.js';
import type { ConnectionProblem, ConnectionSettings, PreviousWebhookSecret } from './connection.entity.js';
import { settingsProblems } from './connection-settings.js';
import { ConnectionError } from './connection.error.js';
import { ConnectionStore } from './connection.store.js';
import type { ConnectionFilter } from './connection.store.js';
import { credentialHint, readCredentials, secretsOf } from './credentials.js';
import { newWebhookSecret } from './webhooks/webhook-verification.js';
import type { Credentials } from './credentials.js';
import type { OpenedCredentials, ProviderConnection } from './provider.decorator.js';
import { ProviderRegistry } from './provider.registry.js';
import type { RegisteredProvider } from './provider.registry.js';

export interface NewConnection {
  provider: string;
  name: string;
  /** The owner; the caller's own account when absent. */
  accountId?: string;
  config: Record<string, unknown>;
  /** `{ type, ...fields }` as the client sent it. */
  credentials: unknown;
  settings?: ConnectionSettings;
}

export interface ConnectionChanges {
  name?: string;
  config?: Record<string, unknown>;
  settings?: ConnectionSettings;
}

/** What `POST /connections/{id}/test` answers: whether the provider's check passed, and why not. */
export interface CheckOutcome {
  ok: boolean;
  code: string | null;
  message: string;
  durationMs: number;
}

/** A connection just made, and the webhook secret it was given (shown this once), if it receives webhooks. */
export interface CreatedConnection {
  connection: Connection;
  webhookSecret: string | null;
}

/** The columns of a connection that hold a sealed value; `webhookPreviousSecrets` holds a list of them. */
const SEALED_COLUMNS = ['credentialsSealed', 'webhookSecretSealed'] as const;

/** How long a connection test may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 30_000;
/** After a rotation the previous webhook secret is accepted this long, while the sender switches. */
export const PREVIOUS_WEBHOOK_SECRET_MS = 24 * 60 * 60 * 1000;
/**
 * Rotated-out webhook secrets kept at most: each is tried on a delivery no other secret verifies,
 * so past this many rotations within 24 hours the oldest is refused early.
 */
export const MAX_PREVIOUS_WEBHOOK_SECRETS = 10;
/** Sealed credentials kept opened at most; when full the cache starts again empty. */
const OPENED_CACHE_SIZE = 1000;

/**
 * Connections: an account's instances of providers. Config is checked against the provider's
 * schema and credentials against its types before anything is stored; credentials are sealed
 * before they reach the database and are never returned. Operators and admins manage every
 * connection; any other account only its own, and another's is not found.
 */
@Injectable()
export class ConnectionsService {
  /** Opened credential fields by their sealed text; see `opened`. */
  private readonly openedCache = new Map<string, Record<string, string>>();

  constructor(
    private readonly store: ConnectionStore,
    private readonly registry: ProviderRegistry,
    private readonly accounts: AccountsService,
    private readonly serializer: WriteSerializer,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly schedules: ConnectionSchedules,
  ) {
    // No foreign key reaches a connection's schedules: they go with its account here.
    accounts.onRemove(async (manager, accountId) => {
      for (const connection of await this.store.ofAccount(accountId, manager))
        await this.schedules.remove(manager, connection.id);
    });
  }

  async create(caller: Principal, input: NewConnection): Promise<CreatedConnection> {
    const accountId = this.mayCreateFor(caller, input.accountId);
    const provider = this.provider(input.provider);
    const settings = input.settings ?? {};
    const credentials = readOrRefuse(provider, input.config, input.credentials, settings);
    await this.assertAccountExists(accountId);
    await this.assertStorage(accountId, settings);
    const { connection, webhookSecret } = this.newConnection(
      provider,
      { accountId, name: input.name.trim(), config: input.config, settings },
      credentials,
    );
    const saved = await this.serializer.transaction((manager) => this.saveUnique(manager, connection));
    return { connection: saved, webhookSecret };
  }

  /** A new, active connection, its credentials sealed, with a webhook secret if its provider receives webhooks. */
  private newConnection(
    provider: RegisteredProvider,
    {
      accountId,
      name,
      config,
      settings = {},
    }: { accountId: string; name: string; config: Record<string, unknown>; settings?: ConnectionSettings },
    credentials: Credentials,
  ): CreatedConnection {
    const now = this.clock.now();
    const webhookSecret = provider.metadata.capabilities.includes('webhooks') ? newWebhookSecret() : null;
    const connection = Object.assign(new Connection(), {
      id: newId(now.getTime()),
      accountId,
      provider: provider.metadata.key,
      name,
      config,
      ...this.sealed(credentials),
      webhookSecretSealed: webhookSecret === null ? null : this.box.seal(webhookSecret),
      webhookPreviousSecrets: [],
      refreshingUntil: null,
      refreshFailures: null,
      settings,
      syncsPausedAt: null,
      state: 'active',
      lastError: null,
      lastUsedAt: null,
      createdAt: now,
      updatedAt: now,
    } satisfies Connection);
    return { connection, webhookSecret };
  }

  /**
   * Gives a connection that receives webhooks a new signing secret (`given`, as a sender such as
   * Stripe shows it, or a random one); the one before keeps verifying for 24 hours, and so do those
   * rotated out before it until their own 24 hours end (at most `MAX_PREVIOUS_WEBHOOK_SECRETS`), so
   * deliveries signed while the sender switches are not lost. Answers the new secret, shown this once.
   */
  async rotateWebhookSecret(
    caller: Principal,
    id: string,
    given?: string,
  ): Promise<{ connection: Connection; webhookSecret: string }> {
    const secret = given ?? newWebhookSecret();
    const connection = await this.change(caller, id, (found) => {
      if (!this.provider(found.provider).metadata.capabilities.includes('webhooks')) {
        throw new ConnectionError(
          'NO_WEBHOOKS',
          `connection ${found.name}: provider ${found.provider} receives no webhooks`,
        );
      }
      const now = this.clock.now();
      const rotatedOut: PreviousWebhookSecret[] = found.webhookSecretSealed
        ? [
            {
              sealed: found.webhookSecretSealed,
              expiresAt: new Date(now.getTime() + PREVIOUS_WEBHOOK_SECRET_MS).toISOString(),
            },
          ]
        : [];
      found.webhookPreviousSecrets = [...rotatedOut, ...this.previousAccepted(found, now)].slice(
        0,
        MAX_PREVIOUS_WEBHOOK_SECRETS,
      );
      found.webhookSecretSealed = this.box.seal(secret);
    });
    return { connection, webhookSecret: secret };
  }

  /** The webhook secrets a delivery may be signed with now: the current one, then the previous ones while they last. */
  webhookSecrets(connection: Connection): string[] {
    const secrets: string[] = [];
    if (connection.webhookSecretSealed) secrets.push(this.box.open(connection.webhookSecretSealed));
    for (const previous of this.previousAccepted(connection, this.clock.now()))
      secrets.push(this.box.open(previous.sealed));
    return secrets;
  }

  /** The secrets rotated out that are still accepted at `now`, newest first. */
  private previousAccepted(connection: Connection, now: Date): PreviousWebhookSecret[] {
    return connection.webhookPreviousSecrets
      .filter((previous) => Date.parse(previous.expiresAt) > now.getTime())
      .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
  }

  /** Marks a connection refused by its partner (unless it is so already, or paused); answers whether it changed. */
  markBadAuthentication(connection: Connection, problem: ConnectionProblem, at: Date): Promise<boolean> {
    return this.serializer.transaction(async (manager) => {
      if (!(await this.store.markBadAuthentication(manager, connection.id, problem, at))) return false;
      await this.schedules.sync(manager, { ...connection, state: 'bad_authentication' });
      return true;
    });
  }

  list(caller: Principal, filter: ConnectionFilter, page: PageQueryDto): Promise<Page<Connection>> {
    if (!mayManageAll(caller)) {
      if (filter.accountId !== undefined && filter.accountId !== caller.accountId)
        return Promise.resolve({ items: [], nextCursor: null });
      return this.store.page({ ...filter, accountId: caller.accountId }, page);
    }
    return this.store.page(filter, page);
  }

  /** The account's connections, for work done across all of them (syncs); no visibility check. */
  ofAccount(accountId: string): Promise<Connection[]> {
    return this.store.ofAccount(accountId);
  }

  /** How many connections each provider has, for admin stats. */
  countByProvider(): Promise<Record<string, number>> {
    return this.store.countByProvider();
  }

  /** A connection by id, for work Junction does on its own (a scheduled sync); no visibility check. */
  find(id: string): Promise<Connection | null> {
    return this.store.find(id);
  }

  async get(caller: Principal, id: string): Promise<Connection> {
    return visibleTo(caller, await this.store.find(id), id);
  }

  update(caller: Principal, id: string, changes: ConnectionChanges): Promise<Connection> {
    return this.change(caller, id, async (connection, manager) => {
      if (changes.config !== undefined || changes.settings !== undefined) {
        const provider = this.provider(connection.provider);
        const config = changes.config ?? connection.config;
        const settings = changes.settings ?? connection.settings;
        const problems = provider.validateConfig(config);
        if (problems.length === 0) problems.push(...settingsProblems(provider, config, settings));
        if (problems.length > 0) throw invalid(problems);
        await this.assertStorage(connection.accountId, settings, manager);
        Object.assign(connection, { config, settings });
      }
      if (changes.name !== undefined) connection.name = changes.name.trim();
    });
  }

  replaceCredentials(caller: Principal, id: string, input: unknown): Promise<Connection> {
    return this.change(caller, id, (connection) => {
      const credentials = readOrRefuse(this.provider(connection.provider), connection.config, input);
      Object.assign(connection, this.sealed(credentials));
      // New credentials are a new chance: a connection refused for its old ones is active again.
      if (connection.state === 'bad_authentication') {
        connection.state = 'active';
        connection.lastError = null;
      }
    });
  }

  /**
   * The end of an OAuth authorisation: creates the account's connection of that name, or gives an
   * existing one of the same provider the new tokens (re-authorisation), active again. `created`
   * tells which.
   */
  async authorize(
    grant: { accountId: string; provider: string; name: string; config: Record<string, unknown> },
    tokens: Credentials,
  ): Promise<{ connection: Connection; created: boolean }> {
    const provider = this.provider(grant.provider);
    const now = this.clock.now();
    return this.serializer.transaction(async (manager) => {
      const existing = await this.store.findByName(manager, grant.accountId, grant.name);
      if (existing && existing.provider !== grant.provider) {
        throw new ConnectionError(
          'CONNECTION_NAME_TAKEN',
          `the account has a ${existing.provider} connection named ${grant.name} already`,
        );
      }
      if (existing) {
        Object.assign(existing, this.sealed(tokens), {
          state: 'active',
          lastError: null,
          refreshingUntil: null,
          refreshFailures: null,
          updatedAt: now,
        } satisfies Partial<Connection>);
        return { connection: await this.saveUnique(manager, existing), created: false };
      }
      // Its webhook secret, if any, is shown by POST /connections/{id}/webhook-secret.
      const { connection } = this.newConnection(provider, grant, tokens);
      return { connection: await this.saveUnique(manager, connection), created: true };
    });
  }

  /**
   * The account a new connection is for (`accountId`, else the caller's), once the caller may
   * create connections for it and it exists.
   */
  async ownerFor(caller: Principal, accountId: string | undefined): Promise<string> {
    const owner = this.mayCreateFor(caller, accountId);
    await this.assertAccountExists(owner);
    return owner;
  }

  private mayCreateFor(caller: Principal, accountId: string | undefined): string {
    const owner = accountId ?? caller.accountId;
    if (!mayManageAll(caller) && owner !== caller.accountId) {
      throw new ConnectionError(
        'NOT_YOUR_ACCOUNT',
        "only an operator may create another account's connections",
      );
    }
    return owner;
  }

  /** Seals credentials as every connection's are; for the OAuth flow's token refresh. */
  seal(credentials: Credentials): string | null {
    return this.sealed(credentials).credentialsSealed;
  }

  /** Checks config against a provider's schema; the problems, each naming its path under `/config`. */
  checkConfig(providerKey: string, config: unknown): void {
    const problems = this.provider(providerKey).validateConfig(config);
    if (problems.length > 0) throw invalid(problems);
  }

  /** A connection refused by its partner stays so: only new credentials make it usable again. */
  pause(caller: Principal, id: string): Promise<Connection> {
    return this.change(caller, id, (connection) => {
      if (connection.state === 'active') connection.state = 'paused';
    });
  }

  resume(caller: Principal, id: string): Promise<Connection> {
    return this.change(caller, id, (connection) => {
      if (connection.state === 'paused') connection.state = 'active';
    });
  }

  /**
   * Pauses (`at`) or resumes (null) a connection's syncs in the caller's transaction: its sync
   * schedule stops or starts firing with it. Answers the connection as it now is.
   */
  async setSyncsPaused(manager: EntityManager, id: string, at: Date | null): Promise<Connection> {
    const connection = await this.store.findForChange(manager, id);
    if (!connection) throw new ConnectionError('CONNECTION_NOT_FOUND', `no connection with id ${id}`);
    if ((connection.syncsPausedAt === null) === (at === null)) return connection;
    connection.syncsPausedAt = at;
    connection.updatedAt = this.clock.now();
    return this.saveUnique(manager, connection);
  }

  /**
   * Deletes the connection with its credentials and schedules. Connections that copied their items
   * into it (a storage) stop naming it, as if they had never chosen one: the reference would
   * otherwise fail each of their syncs and refuse every later change of their config.
   */
  async remove(caller: Principal, id: string): Promise<void> {
    await this.serializer.transaction(async (manager) => {
      const connection = visibleTo(caller, await this.store.findForChange(manager, id), id);
      for (const copying of await this.store.copyingInto(manager, connection.accountId, id)) {
        const settings = { ...copying.settings };
        delete settings.storageConnectionId;
        Object.assign(copying, { settings, updatedAt: this.clock.now() });
        await this.saveUnique(manager, copying);
      }
      await this.store.remove(manager, id);
      await this.schedules.remove(manager, id);
    });
  }

  /**
   * Runs the provider's check against the partner; a failure is an answer, not an error. `open`
   * gives the connection's credentials ready for a call (an OAuth token refreshed if it expires).
   */
  async test(
    caller: Principal,
    id: string,
    open: (connection: Connection) => Promise<ProviderConnection> = (connection) =>
      Promise.resolve(this.open(connection)),
  ): Promise<CheckOutcome> {
    const connection = await this.get(caller, id);
    const provider = this.provider(connection.provider);
    if (!provider.instance.check) {
      return { ok: true, code: null, message: `${connection.provider} has no check to run`, durationMs: 0 };
    }
    let opened: ProviderConnection;
    try {
      opened = this.open(connection);
    } catch {
      // Sealed with a key this installation no longer has: no call could be made with them.
      return {
        ok: false,
        code: 'PERMANENT',
        message:
          'its credentials cannot be opened with the secret key (JUNCTION_SECRET_KEY); give them again with PUT /connections/{id}/credentials',
        durationMs: 0,
      };
    }
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      opened = await open(connection);
      await provider.instance.check(opened, AbortSignal.timeout(CHECK_TIMEOUT_MS));
      return { ok: true, code: null, message: 'the connection works', durationMs: durationMs() };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return {
        ok: false,
        code: typeof code === 'string' ? code : 'ERROR',
        message: masked(error instanceof Error ? error.message : String(error), opened.credentials),
        durationMs: durationMs(),
      };
    }
  }

  /** The connection with its credentials opened, for its provider's calls. */
  open(connection: Connection): ProviderConnection {
    const sealed = connection.credentialsSealed;
    const fields = sealed ? this.opened(sealed) : {};
    const credentials: OpenedCredentials = { ...fields, type: connection.credentialType };
    return { id: connection.id, provider: connection.provider, config: connection.config, credentials };
  }

  /**
   * The fields of sealed credentials. Every partner call opens its connection's, so the last few
   * opened are kept (by their sealed text, which new credentials or a new key replace) rather than
   * decrypted for each call.
   */
  private opened(sealed: string): Record<string, string> {
    let fields = this.openedCache.get(sealed);
    if (!fields) {
      fields = JSON.parse(this.box.open(sealed)) as Record<string, string>;
      if (this.openedCache.size >= OPENED_CACHE_SIZE) this.openedCache.clear();
      this.openedCache.set(sealed, fields);
    }
    return fields;
  }

  /**
   * Seals again with the current key every credential and webhook secret sealed with the previous
   * one (after a key rotation), in pages; a connection changed meanwhile is left to its writer, who sealed with
   * the current key already. Answers how many were sealed again and how many were current, and
   * names the connections holding a value that opens with neither key: they are passed over, so one
   * does not keep the others on the old key.
   */
  async resealAll(
    onPage?: (done: number) => Promise<void>,
  ): Promise<{ resealed: number; current: number; unopenable: string[] }> {
    const counts = { resealed: 0, current: 0, unopenable: [] as string[] };
    let cursor: string | undefined;
    do {
      const page = await this.store.page({}, { limit: 200, cursor });
      for (const connection of page.items) {
        const outcome = await this.reseal(connection);
        if (outcome === 'unopenable') counts.unopenable.push(`${connection.name} (${connection.id})`);
        else counts[outcome]++;
      }
      cursor = page.nextCursor ?? undefined;
      await onPage?.(counts.resealed + counts.current + counts.unopenable.length);
    } while (cursor);
    return counts;
  }

  private async reseal(connection: Connection): Promise<'resealed' | 'current' | 'unopenable'> {
    let resealed = false;
    for (const column of SEALED_COLUMNS) {
      const sealed = connection[column];
      if (sealed === null || this.box.sealedWithCurrentKey(sealed)) continue;
      let again: string;
      try {
        again = this.box.seal(this.box.open(sealed));
      } catch {
        return 'unopenable';
      }
      resealed =
        (await this.serializer.transaction((manager) =>
          this.store.replaceSealed(manager, connection.id, column, sealed, again),
        )) || resealed;
    }
    const previous = connection.webhookPreviousSecrets;
    if (previous.some(({ sealed }) => !this.box.sealedWithCurrentKey(sealed))) {
      let again: PreviousWebhookSecret[];
      try {
        // Those expired are never opened again: dropped, not resealed.
        again = this.previousAccepted(connection, this.clock.now()).map(({ sealed, expiresAt }) => ({
          sealed: this.box.sealedWithCurrentKey(sealed) ? sealed : this.box.seal(this.box.open(sealed)),
          expiresAt,
        }));
      } catch {
        return 'unopenable';
      }
      resealed =
        (await this.serializer.transaction((manager) =>
          this.store.replacePreviousSecrets(manager, connection.id, previous, again),
        )) || resealed;
    }
    return resealed ? 'resealed' : 'current';
  }

  private async change(
    caller: Principal,
    id: string,
    apply: (connection: Connection, manager: EntityManager) => void | Promise<void>,
  ): Promise<Connection> {
    return this.serializer.transaction(async (manager) => {
      const connection = visibleTo(caller, await this.store.findForChange(manager, id), id);
      await apply(connection, manager);
      connection.updatedAt = this.clock.now();
      return this.saveUnique(manager, connection);
    });
  }

  /** Saves the connection and keeps its schedules in step with it, in the caller's transaction. */
  private async saveUnique(manager: EntityManager, connection: Connection): Promise<Connection> {
    const saved = await this.store.save(manager, connection);
    if (saved === 'name-taken') {
      throw new ConnectionError(
        'CONNECTION_NAME_TAKEN',
        `the account has a connection named ${connection.name} already`,
      );
    }
    // The account was deleted after it was checked (its deletion and this write raced).
    if (saved === 'no-account') throw noAccount(connection.accountId);
    await this.schedules.sync(manager, saved);
    return saved;
  }

  private provider(key: string): RegisteredProvider {
    const provider = this.registry.find(key);
    if (!provider) throw invalid([{ path: '/provider', message: `no provider has the key ${key}` }]);
    return provider;
  }

  private sealed(
    credentials: Credentials,
  ): Pick<Connection, 'credentialType' | 'credentialsSealed' | 'credentialsHint'> {
    const empty = Object.keys(credentials.fields).length === 0;
    return {
      credentialType: credentials.type,
      credentialsSealed: empty ? null : this.box.seal(JSON.stringify(credentials.fields)),
      credentialsHint: credentialHint(credentials),
    };
  }

  /** The storage a connection's settings name is a storage connection of the same account. */
  private async assertStorage(
    accountId: string,
    settings: ConnectionSettings,
    manager?: EntityManager,
  ): Promise<void> {
    const id = settings.storageConnectionId;
    if (id === undefined) return;
    const storage = await this.store.find(id, manager);
    if (!storage || storage.accountId !== accountId) {
      throw invalid([
        { path: '/settings/storageConnectionId', message: `the account has no connection ${id}` },
      ]);
    }
    if (!this.provider(storage.provider).metadata.capabilities.includes('storage')) {
      throw invalid([
        {
          path: '/settings/storageConnectionId',
          message: `connection ${storage.name} is of provider ${storage.provider}, which stores no files`,
        },
      ]);
    }
  }

  private async assertAccountExists(accountId: string): Promise<void> {
    try {
      await this.accounts.get(accountId);
    } catch (error) {
      if (hasErrorCode(error, 'ACCOUNT_NOT_FOUND')) throw noAccount(accountId);
      throw error;
    }
  }
}

function mayManageAll(caller: Principal): boolean {
  return roleAtLeast(caller.role, 'operator');
}

/** Another account's connection is not found, for an account that may not manage it. */
function visibleTo(caller: Principal, connection: Connection | null, id: string): Connection {
  if (!connection || (!mayManageAll(caller) && connection.accountId !== caller.accountId)) {
    throw new ConnectionError('CONNECTION_NOT_FOUND', `no connection with id ${id}`);
  }
  return connection;
}

function noAccount(accountId: string): ConnectionError {
  return invalid([{ path: '/accountId', message: `no account has the id ${accountId}` }]);
}

function invalid(problems: SchemaViolation[]): ConnectionError {
  return new ConnectionError(
    'INVALID_CONNECTION',
    problems.map((problem) => `${problem.path}: ${problem.message}`).join('; '),
    problems,
  );
}

/** Checks config, credentials and settings together, so one answer names every problem. */
function readOrRefuse(
  provider: RegisteredProvider,
  config: Record<string, unknown>,
  credentials: unknown,
  settings?: ConnectionSettings,
): Credentials {
  const problems = provider.validateConfig(config);
  if (problems.length === 0 && settings !== undefined)
    problems.push(...settingsProblems(provider, config, settings));
  const read = readCredentials(credentials, provider.metadata.credentialTypes);
  if ('problems' in read) problems.push(...read.problems);
  if (problems.length > 0 || !('credentials' in read)) throw invalid(problems);
  return read.credentials;
}

/** A provider's error message with any credential value in it replaced, in case it echoed one. */
function masked(message: string, credentials: OpenedCredentials): string {
  return secretsOf(credentials).reduce((text, secret) => text.split(secret).join('***'), message);
}
