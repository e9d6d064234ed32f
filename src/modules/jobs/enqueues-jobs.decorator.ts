import { SetMetadata } from '@nestjs/common';

export const ENQUEUES_JOBS_METADATA = 'junction:enqueues-jobs';

/**
 * Declares the job types a provider enqueues, so a type without a handler stops the boot instead
 * of failing the first time the job is enqueued.
 */
export const EnqueuesJobs = (...types: string[]): ClassDecorator =>
  SetMetadata(ENQUEUES_JOBS_METADATA, types);
