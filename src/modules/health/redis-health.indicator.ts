import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { redisPingProblem } from '../../common/redis-ping.js';

const REDIS_PING_TIMEOUT_MS = 1500;

/** Pings Redis on a short-lived connection, so a check never waits on a reconnecting client. */
@Injectable()
export class RedisHealthIndicator {
  constructor(private readonly health: HealthIndicatorService) {}

  async pingCheck<const Key extends string>(key: Key, url: string) {
    const indicator = this.health.check(key);
    const problem = await redisPingProblem(url, REDIS_PING_TIMEOUT_MS);
    return problem === undefined ? indicator.up() : indicator.down({ message: problem });
  }
}
