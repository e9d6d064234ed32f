import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../../common/auth/roles.js';
import { ReadinessChecks } from '../../common/readiness.js';
import { AppConfig } from '../../config/app-config.js';
import { RedisHealthIndicator } from './redis-health.indicator.js';

const DATABASE_PING_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Alive: the process answers' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  alive(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Ready: the database, and Redis when configured, answer, and each AMQP consumer of this process is up (amqp:<connection>); 503 names what is down',
  })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; `error` names it' })
  ready(): Promise<HealthCheckResult> {
    const { redisUrl } = this.config;
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      ...(redisUrl ? [() => this.redis.pingCheck('redis', redisUrl)] : []),
      ...this.readiness.reports().map(({ key, up, details }) => () => {
        const session = this.indicators.check(key);
        return up ? session.up(details) : session.down(details);
      }),
    ]);
  }
}
