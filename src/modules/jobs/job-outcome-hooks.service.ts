import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { JobErrorSummary } from './jobs.contract.js';

export type FinalStatus = 'succeeded' | 'dead';

/** A job that just ended for good, as a listener sees it. */
export interface FinishedJob {
  id: string;
  type: string;
  queue: string;
  status: FinalStatus;
  attempts: number;
  eventId: string | null;
  /** The handler's result (succeeded). */
  result: unknown;
  /** Why the last attempt failed (dead). */
  error: JobErrorSummary | null;
}

/** Another module's interest in jobs that end (the events module turns them into events). */
export interface JobOutcomeListener {
  /** Cheap and synchronous: whether jobs ending this way concern the listener at all. */
  wants(status: FinalStatus): boolean;
  /**
   * Runs inside the transaction that records the outcomes, so what it writes commits with them.
   * It must not throw for anything but a database failure: that rolls the outcomes back.
   */
  onFinished(manager: EntityManager, jobs: FinishedJob[]): Promise<void>;
}

/** Where the ledger looks for the listener; one may register. */
@Injectable()
export class JobOutcomeHooks {
  private listener: JobOutcomeListener | null = null;

  register(listener: JobOutcomeListener): void {
    this.listener = listener;
  }

  wants(status: FinalStatus): boolean {
    return this.listener?.wants(status) ?? false;
  }

  /**
   * Tells the listener of the jobs that ended in a way it wants, asking it once per status. `build`
   * makes a job's record only for those: a succeeded job's parses its result again.
   */
  async notify<T extends { status: FinalStatus }>(
    manager: EntityManager,
    ended: T[],
    build: (job: T) => FinishedJob,
  ): Promise<void> {
    if (ended.length === 0) return;
    const wants = { succeeded: this.wants('succeeded'), dead: this.wants('dead') };
    const wanted = ended.filter((job) => wants[job.status]).map(build);
    if (wanted.length > 0) await this.listener!.onFinished(manager, wanted);
  }
}
