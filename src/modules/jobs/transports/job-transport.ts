import type { Dispatch } from '../job-dispatch.js';

/**
 * How committed jobs reach workers. The ledger decides what runs; a transport only delivers:
 * embedded polls the ledger and is woken in-process, Bull carries job ids through Redis.
 */
export abstract class JobTransport {
  /** Tells the transport about jobs just committed (new, retried or put back). Never throws. */
  abstract dispatch(jobs: Dispatch[]): void;
  /** Starts taking jobs of these queues, each with its per-process concurrency (worker role). */
  abstract start(queues: Map<string, number>): Promise<void>;
  /** Stops taking new jobs; running ones go on. */
  abstract stopClaiming(): Promise<void>;
  /** Lets go of connections. */
  abstract close(): Promise<void>;
}
