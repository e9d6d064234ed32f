import { SetMetadata } from '@nestjs/common';
import type { SchemaViolation } from '../../common/json-schema.js';
import type { CredentialType } from './credentials.js';
import type { CdnDriver, DnsDriver } from './provisioning-drivers.js';
import type { ProjectContext, ProjectEvent, ProjectRouteSpec } from './project-provider.js';
import type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
import type {
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from './webhooks/webhook-verification.js';

export const PROVIDER_METADATA = 'junction:provider';

/** What a provider can do; later issues add the capabilities they build. */
export const PROVIDER_CAPABILITIES = [
  'actions',
  'pollers',
  'webhooks',
  'sync',
  'storage',
  'cdn',
  'dns',
] as const;
export type ProviderCapability = (typeof PROVIDER_CAPABILITIES)[number];

export interface ProviderMetadata {
  /** Lowercase words joined by dashes, such as `http` or `acme-shipping`; unique across the process. */
  key: string;
  title: string;
  /** What sort of partner it speaks to (`rest`, `shop`, `ci` ...), for people choosing one. */
  kinds: string[];
  /** A JSON Schema (ajv) every connection's `config` must satisfy. */
  configSchema: Record<string, unknown>;
  /** The credential types a connection of it may hold; at least one. */
  credentialTypes: CredentialType[];
  capabilities: ProviderCapability[];
  /**
   * The partner's limit on calls, shared by everything one connection does (pushes, polls,
   * syncs); a connection's `config.rateLimit` overrides it. None: calls are not limited.
   */
  rateLimit?: RateLimit;
  /**
   * Where a provider that takes `oauth2` credentials sends people to authorise Junction, and
   * exchanges and refreshes tokens (authorization code with PKCE). The client id and secret may be
   * given here or, as installations usually do, by `JUNCTION_OAUTH_<PROVIDER>_CLIENT_ID` and
   * `_CLIENT_SECRET`; those variables and `_AUTHORIZATION_URL` / `_TOKEN_URL` override these.
   */
  oauth2?: OAuth2Settings;
  /**
   * A JSON Schema (ajv) for the settings a project gives this provider
   * (`PUT /projects/{id}/providers/{key}`): which connection, repositories, branch patterns. None:
   * projects do not use it.
   */
  projectSettingsSchema?: Record<string, unknown>;
  /**
   * The events of this provider's connections (inbound webhooks, by name pattern: `github.push`,
   * `jenkins.build.*`) that its `onProjectEvent` handles for the projects using the connection.
   */
  projectEvents?: string[];
}

export interface OAuth2Settings {
  authorizationUrl: string;
  tokenUrl: string;
  /** Asked for when the start request names none. */
  scopes?: string[];
  clientId?: string;
  clientSecret?: string;
}

/** At most `requests` partner calls per `perMs` milliseconds; both whole numbers of 1 or more. */
export interface RateLimit {
  requests: number;
  perMs: number;
}

/** A connection as its provider sees it: settings and opened credentials. Never log it. */
export interface ProviderConnection {
  id: string;
  provider: string;
  config: Record<string, unknown>;
  credentials: OpenedCredentials;
}

/** Credentials opened for a call: the type and its fields (`token`, `key` ...). */
export type OpenedCredentials = { type: CredentialType } & Record<string, string>;

/**
 * What a provider class offers besides its metadata. `check` verifies that a connection works
 * (reaches the partner, is accepted): it resolves when it does and throws (a ProviderError, with
 * a code) when it does not.
 */
export interface ConnectionProvider extends Partial<CdnDriver>, Partial<DnsDriver> {
  check?(connection: ProviderConnection, signal: AbortSignal): Promise<void>;
  /**
   * Checks a connection's config beyond what its JSON Schema can say (templates, say), once the
   * schema passes; each problem names its path under `/config`.
   */
  validate?(config: Record<string, unknown>): SchemaViolation[];
  /** Checks a project's settings beyond what `projectSettingsSchema` can say; paths under `/settings`. */
  validateProjectSettings?(settings: Record<string, unknown>): SchemaViolation[];
  /**
   * The jobs a connection of this provider runs on a clock (its pollers). Junction keeps one
   * schedule per entry in step with the connection: created with it, changed with its config,
   * paused while the connection is not active, deleted with it.
   */
  schedules?(connection: { id: string; config: Record<string, unknown> }): ConnectionSchedule[];
  /**
   * For a provider with the `webhooks` capability: checks an inbound delivery's signature on its
   * exact bytes against the connection's secrets, and says which event it is. Throws
   * `WebhookRefused` when the signature is missing, wrong or stale.
   */
  verifyWebhook?(request: InboundWebhook, context: WebhookVerifyContext): VerifiedWebhook;
  /** For a provider with the `sync` capability: the content types a connection can sync (`photos`, `orders`). */
  syncTypes?(connection: { config: Record<string, unknown> }): string[];
  /**
   * Reads one content type page by page: each page's records go to `ctx.emit`, then
   * `ctx.checkpoint(value, nextPage)` stores them together with the point the next read resumes
   * from, in one transaction. It starts from `ctx.cursor` (the last checkpoint; null for a full
   * sync), or, when the run was cut short, at `ctx.resume.page`.
   */
  read?(ctx: SyncReadContext): Promise<void>;
  /**
   * For a provider with the `storage` capability, which has all five of put, get, delete, list and
   * usage: stores `content` at `path`, replacing what was there, creating the folders it needs.
   * Paths are relative and `/`-separated (see `storagePath`).
   */
  put?(ctx: StorageContext, path: string, content: Buffer, contentType?: string): Promise<void>;
  /** The content at `path`; null when there is none. */
  get?(ctx: StorageContext, path: string): Promise<Buffer | null>;
  /** Removes what is at `path`; nothing there is fine. */
  delete?(ctx: StorageContext, path: string): Promise<void>;
  /** Every file under the folder `prefix` (`''`: all of them), its path relative to the storage's root. */
  list?(ctx: StorageContext, prefix: string): Promise<StoredFile[]>;
  /** How much the storage holds, and its quota when it has one it knows. */
  usage?(ctx: StorageContext): Promise<StorageUsage>;
  /**
   * For a provider with `projectSettingsSchema`: brings a project's records up to date from the
   * tool (`POST /projects/{id}/repositories/sync`, and every `syncEvery` of the project's settings).
   */
  syncProject?(ctx: ProjectContext): Promise<void>;
  /** Applies an event of one of `projectEvents` to a project whose settings name its connection. */
  onProjectEvent?(ctx: ProjectContext, event: ProjectEvent): Promise<void>;
  /** The routes a project's settings ask for; the projects module keeps them in step with the settings. */
  projectRoutes?(projectId: string, settings: Record<string, unknown>): ProjectRouteSpec[];
}

/** A provider with the `storage` capability: the registry makes sure it has all five methods. */
export type StorageProvider = ConnectionProvider &
  Required<Pick<ConnectionProvider, 'put' | 'get' | 'delete' | 'list' | 'usage'>>;

const STORAGE_METHODS = ['put', 'get', 'delete', 'list', 'usage'] as const;

export function isStorageProvider(instance: ConnectionProvider): instance is StorageProvider {
  return STORAGE_METHODS.every((method) => typeof instance[method] === 'function');
}

/** What a storage provider's methods get: the connection, the caller's signal, and its partner calls. */
export interface StorageContext {
  connection: ProviderConnection;
  signal: AbortSignal;
  /** A partner call for the connection, within its rate budget, logged to the caller's log. */
  request(request: PartnerRequest): Promise<PartnerResponse>;
}

/** A file a storage holds: its path relative to the storage's root, and its size in bytes. */
export interface StoredFile {
  path: string;
  size: number;
}

export interface StorageUsage {
  usedBytes: number;
  /** Null when the storage has no quota, or does not say. */
  quotaBytes: number | null;
}

/** One item of a synced content type, normalised by its provider. */
export interface SyncRecord {
  /** The partner's id of the item, unique within the connection and type. */
  externalId: string;
  data: unknown;
  /** What status views show of it. */
  title?: string | null;
  filename?: string | null;
  thumbnailUrl?: string | null;
  size?: number | null;
  /**
   * Fetches the item's content (a photo's bytes), for a run whose connection keeps copies in a
   * storage connection; called only for items added or changed, or not copied yet.
   */
  content?: () => Promise<Buffer>;
}

/** What a provider's `read` gets: the connection, where to start, and where the records go. */
export interface SyncReadContext {
  connection: ProviderConnection;
  type: string;
  /** The checkpoint the read starts from; null on a full sync. */
  cursor: string | null;
  /**
   * Set when the run was cut short (its job deferred or retried, its worker killed) after a page
   * stored with a `nextPage`: the read goes on at that `page`, asked for with the query built from
   * `cursor` here (the checkpoint the earlier pages' query was built from), since the partner's
   * token is only good for that query. `ctx.cursor` is still the last checkpoint stored.
   */
  resume?: { page: string; cursor: string | null };
  /**
   * The dates the connection's settings choose for the type, both ends included; null ends are
   * open. A provider reads only items of these dates (the http provider's `{{from}}` and `{{to}}`).
   */
  range: { from: Date | null; to: Date | null };
  signal: AbortSignal;
  /** A partner call for the connection, within its rate budget, logged to the run's job. */
  request(request: PartnerRequest): Promise<PartnerResponse>;
  /** Records read; stored at the next `checkpoint`, or when `read` returns. */
  emit(records: SyncRecord[]): void;
  /**
   * Stores the records emitted so far with `value`, the point the next read resumes from, and
   * `nextPage`, the partner's token of the page after them, so that a run cut short goes on there
   * rather than at its first page (none: it starts over from `value`).
   */
  checkpoint(value: string | null, nextPage?: string | null): Promise<void>;
}

/** A job a connection runs on a clock: `key` names it among the connection's schedules. */
export interface ConnectionSchedule {
  key: string;
  /** 5 fields (minute first) or 6 (second first), read in UTC. */
  cron: string;
  jobType: string;
  payload: Record<string, unknown>;
}

/**
 * Marks a class as a provider: an account's connections name it by `key`. Providers are found at
 * boot, built-in ones and plug-ins alike; two with one key, or one marked without metadata (plain
 * JavaScript can call `Provider()`), stop the boot.
 */
export const Provider = (metadata: ProviderMetadata): ClassDecorator =>
  SetMetadata<string, ProviderMetadata>(PROVIDER_METADATA, metadata);
