import { Global, Logger, Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { resolveSecretKey } from '../config/secret-key.js';
import { Clock } from './clock.js';
import { Console } from './console.js';
import { SecretBox } from './crypto/secret-box.js';
import { MetricsRegistry } from './metrics-registry.js';
import { ReadinessChecks } from './readiness.js';
import { Tracing } from './tracing/tracing.js';

/**
 * What every module may inject: the configuration, the clock, the metrics registry, the readiness
 * checks, the secret box and tracing (off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: config },
        Clock,
        Console,
        MetricsRegistry,
        ReadinessChecks,
        // Shut down (buffered spans sent) when the application closes: see Tracing's onApplicationShutdown.
        { provide: Tracing, useFactory: () => Tracing.start(config.tracing) },
        {
          provide: SecretBox,
          useFactory: () => {
            const { key, source } = resolveSecretKey(config);
            if (source === 'created') {
              new Logger('SecretKey').warn(
                `JUNCTION_SECRET_KEY is not set: created a new key in ${config.dataDir}; back it up, stored secrets need it`,
              );
            }
            return new SecretBox(key, config.previousSecretKey);
          },
        },
      ],
      exports: [AppConfig, Clock, Console, MetricsRegistry, ReadinessChecks, SecretBox, Tracing],
    };
  }
}
