import { Module, RequestMethod } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { CoreModule } from './common/core.module.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import type { AppConfig } from './config/app-config.js';
import { DatabaseModule } from './database/database.module.js';
import { AccountsModule } from './modules/accounts/accounts.module.js';
import { ConsoleModule } from './modules/console/console.module.js';
import { EventsModule } from './modules/events/events.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { JobsModule } from './modules/jobs/jobs.module.js';
import { PlannerModule } from './modules/planner/planner.module.js';
import { maskUrl } from './modules/providers/http/mask-url.js';
import { ProvidersModule } from './modules/providers/providers.module.js';
import { ProvisioningModule } from './modules/provisioning/provisioning.module.js';
import { ReservationsModule } from './modules/reservations/reservations.module.js';
import { SchedulesModule } from './modules/schedules/schedules.module.js';
import { ProjectsModule } from './modules/projects/projects.module.js';
import { SyncsModule } from './modules/syncs/syncs.module.js';
import { WebhooksModule } from './modules/webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  /** `features` adds modules beside the built-in ones (tests add job handlers this way). */
  static forRoot(config: AppConfig, features: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        LoggerModule.forRoot({
          // Every path: the module's own default does not reach Fastify's routes.
          forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
          pinoHttp: {
            level: config.logLevel,
            ...(config.logFormat === 'pretty'
              ? {
                  transport: {
                    target: 'pino-pretty',
                    options: {
                      colorize: true,
                      singleLine: true,
                      translateTime: 'SYS:HH:MM:ss.l',
                      ignore: 'pid,hostname',
                    },
                  },
                }
              : {}),
            // One line a request: method, path, status, time and request id; headers stay out of it.
            // A sender that cannot sign carries its secret in the URL (Jenkins: `/webhooks/{id}?token=`).
            serializers: {
              req: (req: { id?: unknown; method?: string; url?: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url && maskUrl(req.url),
              }),
              res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
            },
            customSuccessMessage: (request, response, responseTime) =>
              `${request.method} ${maskUrl(request.url ?? '')} ${response.statusCode} ${Math.round(responseTime)} ms`,
            customErrorMessage: (request, response) =>
              `${request.method} ${maskUrl(request.url ?? '')} ${response.statusCode}`,
            customLogLevel: (_request, response, error) =>
              error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
          },
        }),
        DatabaseModule,
        AccountsModule,
        HealthModule,
        JobsModule.forRoot(config),
        EventsModule,
        SchedulesModule,
        ReservationsModule,
        PlannerModule,
        ProvidersModule,
        WebhooksModule,
        SyncsModule,
        ProjectsModule,
        ProvisioningModule,
        ConsoleModule,
        ...features,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
