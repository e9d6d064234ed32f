import { Redis } from 'ioredis';

/**
 * Pings Redis on a short-lived connection of its own, so a check never waits on a reconnecting
 * client; resolves to what went wrong, or undefined when it answers within `timeoutMs`.
 */
export async function redisPingProblem(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
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
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
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
