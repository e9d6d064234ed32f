import type { DatabaseConfig } from '../config/app-config.js';
import { redisPingProblem } from '../common/redis-ping.js';
import { maskUrl } from '../modules/providers/http/mask-url.js';

const REDIS_PING_TIMEOUT_MS = 2000;

/** Pings Redis on a connection of its own; resolves to what went wrong, or undefined when it answers. */
export function pingRedis(url: string): Promise<string | undefined> {
  return redisPingProblem(url, REDIS_PING_TIMEOUT_MS);
}

export function redisProblem(url: string, problem: string): string {
  return `Redis at ${maskUrl(url)} does not answer (${problem}): start it, or unset REDIS_URL to use the embedded queue`;
}

/** The database for messages: the SQLite file, or the PostgreSQL URL without its password. */
export function describeDatabase(database: DatabaseConfig): string {
  return database.kind === 'sqlite'
    ? `SQLite file ${database.path}`
    : `PostgreSQL at ${maskUrl(database.url)} (schema ${database.schema})`;
}
