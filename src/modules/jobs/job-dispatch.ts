import type { Job } from './job.entity.js';

/** What a transport needs to deliver a job. */
export interface Dispatch {
  id: string;
  /** Attempts started before this delivery; with the id it names one delivery. */
  attempt: number;
  queue: string;
  priority: number;
  runAt: Date;
  /** Has a concurrency key: its claim must take the key's turn. */
  keyed: boolean;
}

/** The fields of a job that a delivery needs. */
export type DispatchSource = Pick<Job, 'id' | 'attempt' | 'queue' | 'priority' | 'runAt' | 'concurrencyKey'>;

/** The one way to build a Dispatch: from a job, due at its own `runAt` unless another time is given. */
export function dispatchOf(job: DispatchSource, runAt: Date = job.runAt): Dispatch {
  return {
    id: job.id,
    attempt: job.attempt,
    queue: job.queue,
    priority: job.priority,
    runAt,
    keyed: job.concurrencyKey !== null,
  };
}
