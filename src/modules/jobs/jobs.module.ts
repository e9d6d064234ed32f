import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BullModule } from '@nestjs/bull';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../../config/app-config.js';
import { JobAttempt } from './job-attempt.entity.js';
import { JobExecutor } from './job-executor.service.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobClaimStore } from './job-claim.store.js';
import { JobLeaseStore } from './job-lease.store.js';
import { JobChanges } from './job-changes.js';
import { JobLedger } from './job-ledger.service.js';
import { JobOutcomeHooks } from './job-outcome-hooks.service.js';
import { JobOutcomeStore } from './job-outcome.store.js';
import { JobRunStore } from './job-run.store.js';
import { JobLog } from './job-log.entity.js';
import { JobStep } from './job-step.entity.js';
import { JobWorker } from './job-worker.service.js';
import { Job } from './job.entity.js';
import { JobStore } from './job.store.js';
import { JobsController } from './jobs.controller.js';
import { JobsMetrics } from './jobs.metrics.js';
import { JobsService } from './jobs.service.js';
import { LedgerTransactions } from './ledger-transactions.store.js';
import { LeaseOwner } from './lease-owner.js';
import { QueuesController } from './queues.controller.js';
import { BullTransport } from './transports/bull.transport.js';
import { EmbeddedTransport } from './transports/embedded.transport.js';
import { JobTransport } from './transports/job-transport.js';

/**
 * The job engine. The transport follows the configuration: Bull when REDIS_URL is set, otherwise
 * the embedded queue in the database. Global, so any module can inject `JobsService`.
 */
@Module({})
export class JobsModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redisUrl = config.redisUrl;
    return {
      module: JobsModule,
      global: true,
      imports: [
        DiscoveryModule,
        TypeOrmModule.forFeature([Job, JobAttempt, JobLog, JobStep]),
        ...(redisUrl
          ? [
              BullModule.forRoot({
                redis: redisUrl,
                prefix: config.jobs.redisPrefix,
                // Bull's lock on a delivery lasts as long as a ledger lease, so a delivery held by a
                // worker that died goes back to the wait list about when its jobs' leases expire,
                // however often that happens: the ledger's claim keeps a job from running twice.
                settings: {
                  lockDuration: config.jobs.leaseMs,
                  stalledInterval: Math.max(1000, Math.floor(config.jobs.leaseMs / 2)),
                  maxStalledCount: 1000,
                },
              }),
            ]
          : []),
      ],
      controllers: [JobsController, QueuesController],
      providers: [
        JobHandlerRegistry,
        JobStore,
        LeaseOwner,
        LedgerTransactions,
        JobClaimStore,
        JobOutcomeStore,
        JobLeaseStore,
        JobRunStore,
        JobLedger,
        JobChanges,
        JobExecutor,
        JobOutcomeHooks,
        JobsMetrics,
        JobsService,
        JobWorker,
        { provide: JobTransport, useClass: redisUrl ? BullTransport : EmbeddedTransport },
      ],
      exports: [JobsService, JobOutcomeHooks],
    };
  }
}
