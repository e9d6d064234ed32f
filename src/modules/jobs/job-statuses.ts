/**
 * A job's states, in a file that imports nothing, so the command line's option choices cost no
 * loading of the jobs module (jobs.contract re-exports them for the other modules).
 */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'] as const;
/** `failed` means an attempt failed and a retry is scheduled at `runAt`; `dead` means no more tries. */
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The states a job can be retried from. */
export const RETRYABLE_STATUSES = ['dead', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export type RetryableStatus = (typeof RETRYABLE_STATUSES)[number];
