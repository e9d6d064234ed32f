import { Redis } from 'ioredis';
import type { DatabaseConfig } from '../config/app-config.js';
import { maskUrl } from '../modules/providers/http/mask-url.js';

const REDIS_PING_TIMEOUT_MS = 2000;

/** Pings Redis on a connection of its own; resolves to what went wrong, or undefined when it answers. */
export async function pingRedis(url: string): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: REDIS_PING_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The event says why (ECONNREFUSED ...); the rejected connect() says only "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (error: Error) => (cause ??= error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${REDIS_PING_TIMEOUT_MS} ms`)),
          REDIS_PING_TIMEOUT_MS,
        );
      }),
    ]);
    return undefined;
  } catch (error) {
    return cause?.message ?? (error instanceof Error ? error.message : String(error));
  } finally {
    clearTimeout(timer);
    // A client whose connection failed has ended; disconnecting it again would start a 2 s
    // timer (ioredis's disconnectTimeout) waiting for a close that has already happened.
    if (client.status !== 'end') client.disconnect();
  }
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
