export const ROLES = ['api', 'worker', 'scheduler', 'reserver', 'planner'] as const;
export type ProcessRole = (typeof ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

/** The whole configuration of one Junction process, validated once at boot (see `loadConfig`). */
export class AppConfig {
  constructor(
    readonly port: number,
    readonly database: DatabaseConfig,
    readonly redisUrl: string | undefined,
    readonly roles: ReadonlySet<ProcessRole>,
    /** Set by `JUNCTION_SECRET_KEY`; when undefined, `resolveSecretKey` reads or creates the key file. */
    readonly secretKey: Buffer | undefined,
    readonly dataDir: string,
    readonly logLevel: LogLevel,
    readonly bodyLimitBytes: number,
    readonly adminKey: string | undefined,
  ) {}

  hasRole(role: ProcessRole): boolean {
    return this.roles.has(role);
  }
}
