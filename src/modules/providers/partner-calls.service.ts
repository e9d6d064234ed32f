import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { ConnectionCache } from './connection-cache.js';
import type { Connection } from './connection.entity.js';
import { ConnectionStore } from './connection.store.js';
import { ConnectionsService } from './connections.service.js';
import { secretsOf } from './credentials.js';
import { PartnerHttpClient } from './http/partner-http.client.js';
import type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
import { ProviderError } from './http/provider-error.js';
import { OAuthService } from './oauth/oauth.service.js';
import type { OpenedCredentials, ProviderConnection } from './provider.decorator.js';
import { ProvidersMetrics } from './providers.metrics.js';
import { ProviderRegistry } from './provider.registry.js';
import { RateBudgets } from './rate-budgets.service.js';

/** What a call needs of the job it runs in: its signal, and its log for the call's one line. */
export interface CallContext {
  signal: AbortSignal;
  log(line: string): Promise<void>;
}

/** lastUsedAt is a hint for people, so it is written at most this often per connection. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** Connections whose last touch this process remembers; when full it starts again empty. */
const TOUCHED_KEPT = 10_000;

/**
 * Partner calls made for a connection, from a job, each within the connection's rate budget
 * (`RateBudgets`). A paused connection, or one whose partner
 * refused its credentials, is not called: the job fails PERMANENT saying why. A partner that
 * answers AUTH marks the connection `bad_authentication` with the error and announces the event
 * `connection.problem`, once. Credentials never reach the log line or the error message.
 */
@Injectable()
export class PartnerCallsService {
  /** When this process last wrote each connection's lastUsedAt. */
  private readonly touched = new Map<string, number>();
  /** Connections from the cache, which are never changed, opened once each; see `usable`. */
  private readonly openedOf = new WeakMap<Connection, ProviderConnection>();
  /** The secrets of opened credentials, found once for each; see `request`. */
  private readonly secretsOf = new WeakMap<OpenedCredentials, readonly string[]>();

  constructor(
    private readonly store: ConnectionStore,
    private readonly connections: ConnectionsService,
    private readonly http: PartnerHttpClient,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly metrics: ProvidersMetrics,
    private readonly budgets: RateBudgets,
    private readonly registry: ProviderRegistry,
    private readonly oauth: OAuthService,
    private readonly cache: ConnectionCache,
  ) {}

  /**
   * The connection, opened, if it may be called now. Read through the cache, which every change
   * to the connection drops, so a pause or a refusal stops the next call at once.
   */
  async usable(connectionId: string): Promise<{ connection: Connection; opened: ProviderConnection }> {
    const connection = this.cache.get(connectionId) ?? (await this.find(connectionId));
    if (!connection) throw new ProviderError('PERMANENT', `no connection with id ${connectionId}`);
    if (connection.state === 'paused')
      throw new ProviderError('PERMANENT', `connection ${connection.name} (${connection.id}) is paused`);
    if (connection.state === 'bad_authentication') {
      throw new ProviderError(
        'PERMANENT',
        `connection ${connection.name} (${connection.id}) was refused by its partner; replace its credentials`,
      );
    }
    if (connection.credentialType === 'oauth2') return { connection, opened: await this.opened(connection) };
    let opened = this.openedOf.get(connection);
    if (!opened) {
      opened = this.connections.open(connection);
      this.openedOf.set(connection, opened);
    }
    return { connection, opened };
  }

  /**
   * The connection as partner calls see it, from the cache: for checks made on every call, such as
   * a job's payload check. It must not be changed.
   */
  find(connectionId: string): Promise<Connection | null> {
    return this.cache.read(connectionId, () => this.store.find(connectionId));
  }

  /** The connection with credentials ready for a call: an OAuth token about to expire is refreshed first. */
  async opened(connection: Connection): Promise<ProviderConnection> {
    if (connection.credentialType !== 'oauth2') return this.connections.open(connection);
    try {
      return await this.oauth.fresh(connection);
    } catch (error) {
      // Refresh failed on three separate days: the partner no longer accepts this connection.
      if (error instanceof ProviderError && error.code === 'AUTH') await this.refused(connection, error);
      throw error;
    }
  }

  /**
   * Sends one request for the connection; `secrets` are added from its credentials. It first takes
   * a call from the connection's rate budget, which every call for the connection shares: when the
   * budget is spent the partner is not called, and the job is deferred until it allows.
   */
  async request(
    connection: Connection,
    opened: ProviderConnection,
    context: CallContext,
    request: PartnerRequest,
  ): Promise<PartnerResponse> {
    await this.budgets.take(connection, this.registry.find(connection.provider)?.metadata.rateLimit);
    const started = performance.now();
    let code = 'OK';
    try {
      const response = await this.http.request({
        ...request,
        signal: context.signal,
        secrets: request.secrets ? [...request.secrets, ...this.secrets(opened)] : this.secrets(opened),
        log: (line) => context.log(line),
      });
      if (this.touchDue(connection)) await this.touch(connection);
      return response;
    } catch (error) {
      code = error instanceof ProviderError ? error.code : 'CANCELLED';
      if (error instanceof ProviderError && error.code === 'AUTH') await this.refused(connection, error);
      throw error;
    } finally {
      this.metrics.callFinished(connection.provider, code, (performance.now() - started) / 1000);
    }
  }

  /** Marks the connection refused by its partner and announces `connection.problem`, once. */
  async refused(connection: Connection, error: ProviderError): Promise<void> {
    const at = this.clock.now();
    const problem = { code: error.code, message: error.message, at: at.toISOString() };
    await this.serializer.transaction(async (manager) => {
      if (!(await this.connections.markBadAuthentication(connection, problem, at))) return;
      await this.events.emitOwn(manager, [
        {
          name: 'connection.problem',
          data: {
            connectionId: connection.id,
            accountId: connection.accountId,
            provider: connection.provider,
            state: 'bad_authentication',
            error: problem,
          },
        },
      ]);
    });
  }

  private secrets({ credentials }: ProviderConnection): readonly string[] {
    let secrets = this.secretsOf.get(credentials);
    if (!secrets) {
      secrets = secretsOf(credentials);
      this.secretsOf.set(credentials, secrets);
    }
    return secrets;
  }

  /** Whether the connection's lastUsedAt is due a write; asked first, so most calls await nothing. */
  private touchDue(connection: Connection): boolean {
    const now = this.clock.now().getTime();
    // The connection a long job loaded at its start does not see its own touches: they are kept here.
    const last = Math.max(connection.lastUsedAt?.getTime() ?? 0, this.touched.get(connection.id) ?? 0);
    return now - last >= LAST_USED_RESOLUTION_MS;
  }

  private async touch(connection: Connection): Promise<void> {
    const now = this.clock.now().getTime();
    if (this.touched.size >= TOUCHED_KEPT) this.touched.clear();
    this.touched.set(connection.id, now);
    await this.serializer.transaction((manager) => this.store.touch(manager, connection.id, new Date(now)));
  }
}
