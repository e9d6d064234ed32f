import { SetMetadata } from '@nestjs/common';
import type { BackoffPolicy } from './jobs.contract.js';

export const JOB_HANDLER_METADATA = 'junction:job-handler';
export const DEFAULT_QUEUE = 'default';

export interface JobHandlerOptions {
  /** The queue its jobs wait in; default `default`. */
  queue?: string;
  /** Attempts before the job is dead; default 5. */
  maxAttempts?: number;
  /** Retry delays: exponential with full jitter; defaults base 1 s, factor 2, at most 1 h. */
  backoff?: Partial<BackoffPolicy>;
  /** The attempt's signal aborts after this long and the attempt fails with TIMEOUT; default none. */
  timeoutMs?: number;
  /** At most this many jobs of its queue run at once in one process; default the process limit. */
  concurrency?: number;
  /** At most this many jobs with the same concurrency key run at once, across processes; default 1. */
  concurrencyLimit?: number;
  /** A class-validator class the payload must satisfy when a job is enqueued over HTTP. */
  payload?: new () => object;
  /**
   * Event patterns (globs such as `catalog.product.*`) whose events start a job of this type, with
   * the whole event as the payload: a route declared in code.
   */
  on?: string | string[];
}

export interface JobHandlerMetadata extends JobHandlerOptions {
  type: string;
}

/**
 * Marks a provider method as the handler of one job type. Handlers are found at boot; a type
 * handled twice stops the boot. The method receives a `JobContext` and returns the job's result.
 */
export const JobHandler = (type: string, options: JobHandlerOptions = {}): MethodDecorator =>
  SetMetadata<string, JobHandlerMetadata>(JOB_HANDLER_METADATA, { type, ...options });
