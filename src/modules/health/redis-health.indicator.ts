import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from 'ioredis';

const REDIS_PING_TIMEOUT_MS = 1500;

/** Pings Redis on a short-lived connection, so a check never waits on a reconnecting client. */
@Injectable()
export class RedisHealthIndicator {
  constructor(private readonly health: HealthIndicatorService) {}

  pingCheck<const Key extends string>(key: Key, url: string) {
    return this.health
      .check(key)
      .attempt(async () => {
        const client = new Redis(url, {
          lazyConnect: true,
          connectTimeout: REDIS_PING_TIMEOUT_MS,
          maxRetriesPerRequest: 0,
          enableOfflineQueue: false,
          retryStrategy: () => null,
        });
        try {
          await client.connect();
          await client.ping();
        } finally {
          // A client whose connection failed has ended; disconnecting it again would start a 2 s
          // timer (ioredis's disconnectTimeout) waiting for a close that has already happened.
          if (client.status !== 'end') client.disconnect();
        }
      })
      .withTimeout(REDIS_PING_TIMEOUT_MS);
  }
}
