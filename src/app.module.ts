import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { CoreModule } from './common/core.module.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import type { AppConfig } from './config/app-config.js';
import { DatabaseModule } from './database/database.module.js';
import { AccountsModule } from './modules/accounts/accounts.module.js';
import { EventsModule } from './modules/events/events.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { JobsModule } from './modules/jobs/jobs.module.js';

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

@Module({})
export class AppModule {
  /** `features` adds modules beside the built-in ones (tests add job handlers this way). */
  static forRoot(config: AppConfig, features: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // A caller's X-Request-Id is kept so one id follows a request across systems.
            genReqId: (request: IncomingMessage, response) => {
              const given = request.headers['x-request-id'];
              const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
              response.setHeader('X-Request-Id', id);
              return id;
            },
            redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
            customLogLevel: (_request, response, error) =>
              error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
          },
        }),
        DatabaseModule,
        AccountsModule,
        HealthModule,
        JobsModule.forRoot(config),
        EventsModule,
        ...features,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
