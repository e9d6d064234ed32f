import bytes from 'bytes';
import { CronTime } from 'cron';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AppConfig,
  DEFAULT_GIT_PROTOCOLS,
  DEFAULT_STORAGE_LOCAL_ROOT,
  GIT_PROTOCOLS,
  LOG_FORMATS,
  LOG_LEVELS,
  ROLES,
} from './app-config.js';
import type {
  DatabaseConfig,
  GitProtocol,
  LogFormat,
  LogLevel,
  OAuthClientSettings,
  PluginSpec,
  ProcessRole,
} from './app-config.js';

export const DEFAULT_SQLITE_PATH = './data/junction.sqlite';
const MIN_ADMIN_KEY_LENGTH = 32;

/** Thrown at boot for a configuration value that does not validate; the message names the variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates every setting from the environment. All problems are collected so one
 * failed boot names every bad variable at once.
 */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const check = <T>(name: string, parse: (raw: string) => T, fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    try {
      return parse(raw);
    } catch (error) {
      problems.push(`${name}: expected ${(error as Error).message}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
  };

  const port = check('PORT', parsePort, 3000);
  const database = check('DATABASE_URL', parseDatabaseUrl, sqlite(DEFAULT_SQLITE_PATH));
  const redisUrl = check('REDIS_URL', parseRedisUrl, undefined);
  const roles = check('JUNCTION_ROLES', parseRoles, new Set<ProcessRole>(ROLES));
  const secretKey = check('JUNCTION_SECRET_KEY', parseSecretKey, undefined);
  const previousSecretKey = check('JUNCTION_SECRET_KEY_PREVIOUS', parseSecretKey, undefined);
  const logLevel = check('LOG_LEVEL', parseLogLevel, 'info');
  // A person at a terminal reads coloured lines; anything else (a file, a collector) gets JSON.
  const logFormat = check('LOG_FORMAT', parseLogFormat, process.stdout.isTTY ? 'pretty' : 'json');
  const bodyLimitBytes = check('BODY_LIMIT', parseBodyLimit, 1024 * 1024);
  const adminKey = check('JUNCTION_ADMIN_KEY', parseAdminKey, undefined);
  const jobs = {
    concurrency: check('JUNCTION_WORKER_CONCURRENCY', integerBetween(1, 1000), 20),
    leaseMs: check('JUNCTION_JOB_LEASE_MS', integerBetween(1000, 3_600_000), 30_000),
    shutdownGraceMs: check('JUNCTION_JOB_SHUTDOWN_GRACE_MS', integerBetween(0, 600_000), 10_000),
    reconcileMs: check('JUNCTION_JOB_RECONCILE_MS', integerBetween(100, 3_600_000), 15_000),
    redisPrefix: check('JUNCTION_REDIS_PREFIX', parseRedisPrefix, 'junction'),
  };
  const events = {
    maxDataBytes: check('JUNCTION_EVENT_MAX_BYTES', parseEventLimit, 256 * 1024),
    retentionDays: check('JUNCTION_RETENTION_DAYS', integerBetween(1, 36_500), 30),
    retentionCron: check('JUNCTION_RETENTION_CRON', parseCron, '0 3 * * *'),
    scheduleSyncMs: check('JUNCTION_SCHEDULE_SYNC_MS', integerBetween(100, 3_600_000), 5000),
    cacheMs: check('JUNCTION_EVENTS_CACHE_MS', integerBetween(0, 3_600_000), 1000),
  };

  const reservations = {
    reserverBatch: check('JUNCTION_RESERVER_BATCH', integerBetween(1, 10_000), 200),
    planners: check('JUNCTION_PLANNERS', integerBetween(1, 64), 4),
    planClaimMs: check('JUNCTION_PLAN_CLAIM_MS', integerBetween(1000, 3_600_000), 60_000),
    executorMs: check('JUNCTION_EXECUTOR_MS', integerBetween(50, 3_600_000), 1000),
  };

  const plugins = check('JUNCTION_PLUGINS', parsePlugins, []);
  const publicUrl = check('JUNCTION_PUBLIC_URL', parsePublicUrl, `http://localhost:${port}`);

  const webhooks = {
    retryScheduleMs: check(
      'JUNCTION_WEBHOOK_RETRY_SCHEDULE',
      parseRetrySchedule,
      DEFAULT_WEBHOOK_RETRY_SCHEDULE,
    ),
    disableAfterMs: check('JUNCTION_WEBHOOK_DISABLE_AFTER', parseDuration, 5 * DAY_MS),
    allowPrivate: check('JUNCTION_WEBHOOK_ALLOW_PRIVATE', parseBoolean, false),
  };

  const syncs = {
    deleteBrakePercent: check('JUNCTION_SYNC_DELETE_BRAKE', parsePercent, 50),
    pauseAfter: check('JUNCTION_SYNC_PAUSE_AFTER', parseRunCount, 10),
  };

  const storage = {
    localRoot: path.resolve(read('JUNCTION_STORAGE_LOCAL_ROOT') ?? DEFAULT_STORAGE_LOCAL_ROOT),
  };

  const git = { protocols: check('JUNCTION_GIT_PROTOCOLS', parseGitProtocols, DEFAULT_GIT_PROTOCOLS) };
  const provisioning = { retryBaseMs: check('JUNCTION_PROVISIONING_RETRY_BASE', parseDuration, 20_000) };

  const otlpEndpoint = check('OTEL_EXPORTER_OTLP_ENDPOINT', parseOtlpEndpoint, undefined);
  const serviceName = check('OTEL_SERVICE_NAME', parseServiceName, 'junction');
  const tracing = otlpEndpoint === undefined ? null : { endpoint: otlpEndpoint, serviceName };

  const oauthClients: Record<string, OAuthClientSettings> = {};
  for (const name of Object.keys(env).sort()) {
    const match = OAUTH_VARIABLE.exec(name);
    if (!match) continue;
    const provider = match[1].toLowerCase().replace(/_/g, '-');
    const field = OAUTH_FIELDS[match[2] as keyof typeof OAUTH_FIELDS];
    const url = field === 'authorizationUrl' || field === 'tokenUrl';
    const value = check(name, url ? parseHttpUrl : (raw) => raw, undefined);
    if (value !== undefined) (oauthClients[provider] ??= {})[field] = value;
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const dataDir =
    database.kind === 'sqlite' ? path.dirname(path.resolve(database.path)) : path.resolve('data');
  return new AppConfig(
    port,
    database,
    redisUrl,
    roles,
    secretKey,
    previousSecretKey,
    dataDir,
    logLevel,
    bodyLimitBytes,
    adminKey,
    jobs,
    events,
    reservations,
    plugins,
    webhooks,
    publicUrl,
    oauthClients,
    syncs,
    storage,
    git,
    provisioning,
    logFormat,
    tracing,
  );
}

/** An OTLP/HTTP collector's base URL, such as http://localhost:4318; a trailing slash is dropped. */
function parseOtlpEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('an http(s) URL such as http://localhost:4318');
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash)
    throw new Error('an http(s) URL without query or fragment, such as http://localhost:4318');
  return raw.replace(/\/+$/, '');
}

function parseServiceName(raw: string): string {
  if (raw.length > 200) throw new Error('a name of at most 200 characters');
  return raw;
}

function parseLogFormat(raw: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(raw)) throw new Error(`one of ${LOG_FORMATS.join(', ')}`);
  return raw as LogFormat;
}

/** `https:ssh:git`: git's own spelling (`GIT_ALLOW_PROTOCOL`), each known protocol at most once. */
function parseGitProtocols(raw: string): GitProtocol[] {
  const names = raw.split(':').map((name) => name.trim());
  const known = (name: string): name is GitProtocol => (GIT_PROTOCOLS as readonly string[]).includes(name);
  if (!names.every(known) || new Set(names).size !== names.length)
    throw new Error(
      `a colon-separated list of ${GIT_PROTOCOLS.join(', ')}, each once, such as https:ssh:git`,
    );
  return names;
}

/** `50%` or `50`: a whole percentage from 1 to 100. */
function parsePercent(raw: string): number {
  const value = Number(raw.replace(/%$/, ''));
  if (!Number.isInteger(value) || value < 1 || value > 100)
    throw new Error('a percentage from 1 to 100, such as 50%');
  return value;
}

/** A whole number of runs from 1 to 1000. */
function parseRunCount(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1000) throw new Error('a whole number from 1 to 1000');
  return value;
}

const OAUTH_VARIABLE =
  /^JUNCTION_OAUTH_([A-Z0-9]+(?:_[A-Z0-9]+)*?)_(CLIENT_ID|CLIENT_SECRET|AUTHORIZATION_URL|TOKEN_URL)$/;
const OAUTH_FIELDS = {
  CLIENT_ID: 'clientId',
  CLIENT_SECRET: 'clientSecret',
  AUTHORIZATION_URL: 'authorizationUrl',
  TOKEN_URL: 'tokenUrl',
} as const;

function parseHttpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('an http(s) URL');
  }
  if (!['http:', 'https:'].includes(url.protocol)) throw new Error('an http(s) URL');
  return raw;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DAY_MS = DURATION_UNITS.d;
/** Standard Webhooks' usual schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h. */
const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** `500ms`, `5s`, `5m`, `2h`, `5d`, or a number of milliseconds. */
function parseDuration(raw: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw);
  const value = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms'] : NaN;
  if (!Number.isSafeInteger(value) || value > 365 * DAY_MS) {
    throw new Error('a duration such as 500ms, 5s, 5m, 2h or 5d (at most 365d)');
  }
  return value;
}

function parseRetrySchedule(raw: string): number[] {
  const expected = 'a comma-separated list of 1 to 50 durations, one per attempt, such as "0,5s,5m,30m,2h"';
  const steps = raw.split(',').map((step) => step.trim());
  if (steps.length > 50) throw new Error(expected);
  try {
    return steps.map(parseDuration);
  } catch {
    throw new Error(expected);
  }
}

function parseBoolean(raw: string): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error('true or false');
}

function sqlite(file: string): DatabaseConfig {
  return { kind: 'sqlite', path: file };
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw new Error('an integer port between 1 and 65535');
  return port;
}

function parseDatabaseUrl(raw: string): DatabaseConfig {
  const expected = 'postgres://user@host:port/database, or sqlite:<file path>';
  if (/^postgres(ql)?:\/\//.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(expected);
    }
    if (!url.hostname || url.pathname.length <= 1)
      throw new Error(`${expected} (host and database name are required)`);
    const schema = url.searchParams.get('schema') ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/i.test(schema)) throw new Error('a ?schema= of letters, digits and underscores');
    url.searchParams.delete('schema');
    return { kind: 'postgres', url: withDefaultUser(url).toString(), schema };
  }
  const file = raw.replace(/^sqlite:(\/\/)?/, '');
  if (raw.includes('://') && !raw.startsWith('sqlite:')) throw new Error(expected);
  if (file === '') throw new Error(expected);
  return sqlite(file);
}

/** Like libpq, a URL without a user connects as PGUSER or the operating system user. */
export function withDefaultUser(url: URL): URL {
  if (url.username) return url;
  const copy = new URL(url);
  copy.username = process.env.PGUSER ?? os.userInfo().username;
  return copy;
}

function parseRedisUrl(raw: string): string {
  if (!/^rediss?:\/\/[^/]/.test(raw)) throw new Error('redis://host:port or rediss://host:port');
  return raw;
}

function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('an http(s) URL such as https://junction.example.com');
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash)
    throw new Error('an http(s) URL without query or fragment, such as https://junction.example.com');
  return raw.replace(/\/+$/, '');
}

function parseRedisPrefix(raw: string): string {
  if (!/^[\w.:-]{1,64}$/.test(raw)) throw new Error('1 to 64 letters, digits, _ . : or -');
  return raw;
}

function integerBetween(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) throw new Error(`an integer from ${min} to ${max}`);
    return value;
  };
}

function parseEventLimit(raw: string): number {
  const limit = bytes.parse(raw);
  if (limit === null || !Number.isFinite(limit) || limit < 1 || limit > 16 * 1024 * 1024) {
    throw new Error('a size from 1b to 16mb, such as 256kb');
  }
  return limit;
}

function parseCron(raw: string): string {
  try {
    new CronTime(raw, 'UTC');
  } catch {
    throw new Error('a cron expression of 5 or 6 fields, such as "0 3 * * *"');
  }
  return raw;
}

function parseRoles(raw: string): Set<ProcessRole> {
  const names = raw
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(ROLES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`a comma-separated list of ${ROLES.join(', ')}`);
  }
  return new Set(names as ProcessRole[]);
}

/** 32 bytes, written as 64 hex digits or as base64. */
export function parseSecretKey(raw: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32)
    throw new Error('32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)');
  return key;
}

function parseLogLevel(raw: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new Error(`one of ${LOG_LEVELS.join(', ')}`);
  return raw as LogLevel;
}

function parseBodyLimit(raw: string): number {
  const limit = bytes.parse(raw);
  if (limit === null || !Number.isFinite(limit) || limit < 1024) {
    throw new Error('a size of at least 1kb, such as 1mb, 512kb or 1048576');
  }
  return limit;
}

function parseAdminKey(raw: string): string {
  if (raw.length < MIN_ADMIN_KEY_LENGTH || /\s/.test(raw)) {
    throw new Error(`a key of at least ${MIN_ADMIN_KEY_LENGTH} characters without spaces`);
  }
  return raw;
}

/** An npm package name, optionally with a subpath (`@acme/junction-shipping`, `junction-echo/plugin`). */
const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*(\/[\w.-]+)*$/;
/** A file path: relative or absolute, or any name ending in a JavaScript extension. */
const FILE_PATH = /^(\.{1,2}[\\/]|[\\/]|[a-zA-Z]:[\\/])|\.[cm]?js$/;

function parsePlugins(raw: string): PluginSpec[] {
  const expected =
    'a comma-separated list of plug-in files (./my-plugin.mjs, /opt/plugins/x.js) or package names';
  const names = raw.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new Error(`${expected}, without empty items`);
  if (new Set(names).size !== names.length) throw new Error(`${expected}, each named once`);
  return names.map((name): PluginSpec => {
    if (FILE_PATH.test(name)) return { kind: 'file', name, path: path.resolve(name) };
    if (PACKAGE_NAME.test(name)) return { kind: 'package', name };
    throw new Error(`${expected}; ${JSON.stringify(name)} is neither`);
  });
}
