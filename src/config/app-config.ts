import * as path from 'node:path';

export const ROLES = ['api', 'worker', 'scheduler', 'reserver', 'planner'] as const;
export type ProcessRole = (typeof ROLES)[number];

/** Where `local` storage connections keep their files unless `JUNCTION_STORAGE_LOCAL_ROOT` says otherwise. */
export const DEFAULT_STORAGE_LOCAL_ROOT = 'data/storage';

/** What `JUNCTION_GIT_PROTOCOLS` allows when unset: the network transports, not `file` or plain `http`. */
export const DEFAULT_GIT_PROTOCOLS: readonly GitProtocol[] = ['https', 'ssh', 'git'];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

/** How this process runs jobs (see the jobs module). */
export interface JobsSettings {
  /** Jobs one process runs at once, across all queues; a queue's own limit may be lower. */
  concurrency: number;
  /** How long a claimed job stays leased without renewal; a dead worker's jobs return after this. */
  leaseMs: number;
  /** On shutdown, how long running jobs may finish before their leases are released. */
  shutdownGraceMs: number;
  /** Bull mode: how often the ledger is compared with Redis to re-add lost jobs. */
  reconcileMs: number;
  /** Bull mode: the prefix of every Redis key, so several installations can share one Redis. */
  redisPrefix: string;
}

/** How events are taken in, routed and kept (see the events module). */
export interface EventsSettings {
  /** The largest `data` of one event, in bytes of JSON. */
  maxDataBytes: number;
  /** Events and finished jobs older than this many days are purged by the built-in retention schedule. */
  retentionDays: number;
  /** When the retention schedule fires (cron, UTC). */
  retentionCron: string;
  /** How often a scheduler re-reads schedules, so changes made through another process apply. */
  scheduleSyncMs: number;
  /**
   * How long a process may route and validate with routes and event types it read earlier;
   * changes made through this process apply at once, through another within this time.
   */
  cacheMs: number;
}

/** How reservations are served and planned (see the reservations and planner modules). */
export interface ReservationsSettings {
  /** Requests one reserver transaction serves before it commits. */
  reserverBatch: number;
  /** Planners one `planner` process runs at once, each planning one claimed request. */
  planners: number;
  /** How long a planner's claim on a request lasts; a dead planner's request is claimable after this. */
  planClaimMs: number;
  /** How often a `planner` process looks for due operations to execute. */
  executorMs: number;
}

/** How outbound webhooks are delivered (see the webhooks module). */
export interface WebhooksSettings {
  /**
   * The wait before each attempt of a delivery, the first included (0: at once); its length is the
   * number of attempts. Each wait but a zero one gets ±20 % jitter.
   */
  retryScheduleMs: readonly number[];
  /** An endpoint that has failed this long without one success is disabled. */
  disableAfterMs: number;
  /** Deliveries to loopback, private, link-local and metadata addresses are refused unless this is set. */
  allowPrivate: boolean;
}

/**
 * An OAuth 2 client of Junction's at one provider, from `JUNCTION_OAUTH_<PROVIDER>_CLIENT_ID`,
 * `_CLIENT_SECRET`, `_AUTHORIZATION_URL` and `_TOKEN_URL` (the provider key in capitals, dashes
 * as underscores). Each value set overrides what the provider declares.
 */
export interface OAuthClientSettings {
  clientId?: string;
  clientSecret?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
}

export interface SyncsSettings {
  /**
   * `JUNCTION_SYNC_DELETE_BRAKE`: a full sync that would mark more than this percentage of a
   * type's records deleted deletes nothing and reports DELETE_BRAKE.
   */
  deleteBrakePercent: number;
  /**
   * `JUNCTION_SYNC_PAUSE_AFTER`: after this many failed runs in a row of one connection and type,
   * the connection's syncs pause and `sync.problem` is emitted.
   */
  pauseAfter: number;
}

export interface StorageSettings {
  /**
   * `JUNCTION_STORAGE_LOCAL_ROOT`, absolute: the folder under which every `local` storage
   * connection keeps its files, so an account can write nowhere else on the server.
   */
  localRoot: string;
}

/** The transports git may use, in the spelling of `GIT_ALLOW_PROTOCOL`. */
export const GIT_PROTOCOLS = ['https', 'http', 'ssh', 'git', 'file'] as const;
export type GitProtocol = (typeof GIT_PROTOCOLS)[number];

export interface GitSettings {
  /**
   * `JUNCTION_GIT_PROTOCOLS`: the only transports the `git` provider lets git use, since a project
   * manager chooses its repository URLs (`file` would let one read the server's own repositories).
   */
  protocols: readonly GitProtocol[];
}

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ProvisioningSettings {
  /**
   * `JUNCTION_PROVISIONING_RETRY_BASE`: a flow's first retry waits a random time in [base, 1.5 base),
   * each later one twice the one before (the seed's 20-30 s by default).
   */
  retryBaseMs: number;
}

/** Where traces go; absent (tracing off) unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
export interface TracingSettings {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; spans are POSTed to `<endpoint>/v1/traces`. */
  endpoint: string;
  /** `OTEL_SERVICE_NAME`: the `service.name` of every span of this process. */
  serviceName: string;
}

/**
 * A plug-in named in `JUNCTION_PLUGINS`: a file (its path resolved against the working directory
 * at boot) or a package name, imported from Junction's own installation.
 */
export type PluginSpec = { kind: 'file'; name: string; path: string } | { kind: 'package'; name: string };

/** The whole configuration of one Junction process, validated once at boot (see `loadConfig`). */
export class AppConfig {
  constructor(
    readonly port: number,
    readonly database: DatabaseConfig,
    readonly redisUrl: string | undefined,
    readonly roles: ReadonlySet<ProcessRole>,
    /** Set by `JUNCTION_SECRET_KEY`; when undefined, `resolveSecretKey` reads or creates the key file. */
    readonly secretKey: Buffer | undefined,
    /**
     * Set by `JUNCTION_SECRET_KEY_PREVIOUS` during a key rotation: values sealed with it can still be
     * opened until the `connections.reseal` job has sealed them again with the current key.
     */
    readonly previousSecretKey: Buffer | undefined,
    readonly dataDir: string,
    readonly logLevel: LogLevel,
    readonly bodyLimitBytes: number,
    readonly adminKey: string | undefined,
    readonly jobs: JobsSettings,
    readonly events: EventsSettings,
    readonly reservations: ReservationsSettings,
    /** `JUNCTION_PLUGINS`, in the order given; imported at boot by `loadPlugins`. */
    readonly plugins: readonly PluginSpec[],
    readonly webhooks: WebhooksSettings,
    /** `JUNCTION_PUBLIC_URL`: where partners reach this installation, for the webhook URLs it shows. */
    readonly publicUrl: string,
    /** OAuth 2 clients by provider key. */
    readonly oauthClients: Readonly<Record<string, OAuthClientSettings>> = {},
    readonly syncs: SyncsSettings = { deleteBrakePercent: 50, pauseAfter: 10 },
    readonly storage: StorageSettings = { localRoot: path.resolve(DEFAULT_STORAGE_LOCAL_ROOT) },
    readonly git: GitSettings = { protocols: DEFAULT_GIT_PROTOCOLS },
    readonly provisioning: ProvisioningSettings = { retryBaseMs: 20_000 },
    /** `LOG_FORMAT`: coloured lines for a person at a terminal, JSON lines for a collector. */
    readonly logFormat: LogFormat = 'json',
    /** OpenTelemetry traces; null (off) unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
    readonly tracing: TracingSettings | null = null,
  ) {}

  hasRole(role: ProcessRole): boolean {
    return this.roles.has(role);
  }
}
