/**
 * What other modules may use of the jobs module besides JobsService: the job states, the limits
 * its options are checked against, and the handler API (decorators, context, failures). Other
 * modules never import the job entities, the ledger or its stores.
 */
import type { JobStatus } from './job-statuses.js';

export { EnqueuesJobs } from './enqueues-jobs.decorator.js';
export { JobHandler } from './job-handler.decorator.js';
export { JobPayloadCheck } from './job-payload-check.decorator.js';
export type { JobPayloadProblem } from './job-payload-check.decorator.js';
export type { JobHandlerOptions } from './job-handler.decorator.js';
export type { JobContext } from './job-context.js';
export { DEFERRED_CODE, JobFailure, MAX_RETRY_AFTER_MS } from './job-failure.js';
export { JobOutcomeHooks } from './job-outcome-hooks.service.js';
export { JOBS_TOPIC } from './job-changes.js';
export type { JobChange } from './job-changes.js';
export type { FinalStatus, FinishedJob, JobOutcomeListener } from './job-outcome-hooks.service.js';

export { JOB_STATUSES, RETRYABLE_STATUSES } from './job-statuses.js';
export type { JobStatus, RetryableStatus } from './job-statuses.js';

/** The range of a job's `priority`; higher runs first. */
export const MAX_PRIORITY = 1_000_000;
/** The most attempts a job may be given. */
export const MAX_ATTEMPTS_LIMIT = 100;

/** A job type's name: lowercase words separated by dots or dashes, such as `partner.push-order`. */
export const JOB_TYPE_PATTERN = /^[a-z0-9]+([.-][a-z0-9]+)*$/;

export interface BackoffPolicy {
  /** The first retry waits up to this long; full jitter picks a random delay below the cap. */
  baseMs: number;
  factor: number;
  maxMs: number;
}

export interface JobErrorSummary {
  code: string;
  message: string;
}

/** A job as another module sees it: what it is, where it stands, and what it says of itself. */
export interface JobSummary {
  id: string;
  type: string;
  queue: string;
  status: JobStatus;
  /** Attempts started so far. */
  attempt: number;
  eventId: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** Error codes of the jobs module that callers branch on (`error.code`, never the class). */
export const JOB_ERROR_CODES = {
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  UNKNOWN_JOB_TYPE: 'UNKNOWN_JOB_TYPE',
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  PAYLOAD_REFUSED: 'PAYLOAD_REFUSED',
  INVALID_JOB_OPTIONS: 'INVALID_JOB_OPTIONS',
  JOB_NOT_RETRYABLE: 'JOB_NOT_RETRYABLE',
  JOB_NOT_CANCELLABLE: 'JOB_NOT_CANCELLABLE',
} as const;
