import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { JobOutcomeHooks } from '../jobs/jobs.contract.js';
import type { FinalStatus, FinishedJob, JobOutcomeListener } from '../jobs/jobs.contract.js';
import { EventError } from './event.error.js';
import { EventIntakeService, JUNCTION_SOURCE } from './event-intake.service.js';
import { EventStore } from './event.store.js';
import { RoutesService } from './routes.service.js';

/**
 * Turns jobs that end (`job.succeeded`, `job.dead`) into events, so routes can react. Only while
 * some route listens for them, and in the transaction that records the outcome, so neither is
 * kept without the other. An event is one deeper than the event that started its job.
 */
@Injectable()
export class JobOutcomeEvents implements JobOutcomeListener, OnModuleInit {
  private readonly logger = new Logger(JobOutcomeEvents.name);

  constructor(
    private readonly hooks: JobOutcomeHooks,
    private readonly intake: EventIntakeService,
    private readonly store: EventStore,
    private readonly routes: RoutesService,
  ) {}

  onModuleInit(): void {
    this.hooks.register(this);
  }

  wants(status: FinalStatus): boolean {
    return this.routes.listensTo(`job.${status}`);
  }

  async onFinished(manager: EntityManager, jobs: FinishedJob[]): Promise<void> {
    for (const job of jobs) {
      const causeDepth = job.eventId === null ? 0 : ((await this.store.depthOf(manager, job.eventId)) ?? 0);
      try {
        await this.intake.emit(
          manager,
          {
            name: `job.${job.status}`,
            source: JUNCTION_SOURCE,
            idempotencyKey: `job:${job.id}:${job.status}`,
            data: {
              jobId: job.id,
              type: job.type,
              queue: job.queue,
              attempts: job.attempts,
              eventId: job.eventId,
              ...(job.status === 'succeeded' ? { result: job.result } : { error: job.error }),
            },
          },
          { postedBy: null, causationDepth: causeDepth + 1, causedByJob: job.id },
        );
      } catch (error) {
        // Refusing the event must not refuse the outcome: the job did end.
        if (!(error instanceof EventError)) throw error;
        this.logger.warn(`job ${job.id} ended ${job.status}; its event is refused: ${error.message}`);
      }
    }
  }
}
