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
  /** What the job was given, so a listener can tell which of its records the job was about. */
  payload: unknown;
  /** The handler's result (succeeded). */
  result: unknown;
  /** Why the last attempt failed (dead). */
  error: JobErrorSummary | null;
}

/**
 * Another module's interest in jobs that end (the events module turns them into events, the
 * webhooks module fails the deliveries of its jobs that died).
 */
export interface JobOutcomeListener {
  /** Cheap and synchronous: whether jobs ending this way concern the listener at all. */
  wants(status: FinalStatus): boolean;
  /**
   * Runs inside the transaction that records the outcomes, so what it writes commits with them.
   * It must not throw for anything but a database failure: that rolls the outcomes back.
   */
  onFinished(manager: EntityManager, jobs: FinishedJob[]): Promise<void>;
}

/** Where the ledger looks for the listeners; each module that cares registers one. */
@Injectable()
export class JobOutcomeHooks {
  private readonly listeners: JobOutcomeListener[] = [];

  register(listener: JobOutcomeListener): void {
    if (!this.listeners.includes(listener)) this.listeners.push(listener);
  }

  /** Asked for every group of outcomes: a loop over a listener or two, without allocating. */
  wants(status: FinalStatus): boolean {
    for (const listener of this.listeners) if (listener.wants(status)) return true;
    return false;
  }

  /**
   * Tells each listener of the jobs that ended in a way it wants, asking it once per status.
   * `build` makes a job's record only for jobs some listener wants, once however many want it: a
   * succeeded job's parses its result again.
   */
  async notify<T extends { status: FinalStatus }>(
    manager: EntityManager,
    ended: T[],
    build: (job: T) => FinishedJob,
  ): Promise<void> {
    if (ended.length === 0) return;
    const interested = this.listeners.map((listener) => ({
      listener,
      wants: { succeeded: listener.wants('succeeded'), dead: listener.wants('dead') },
    }));
    const built = new Map<T, FinishedJob>();
    const record = (job: T): FinishedJob => {
      let finished = built.get(job);
      if (!finished) built.set(job, (finished = build(job)));
      return finished;
    };
    for (const { listener, wants } of interested) {
      const wanted = ended.filter((job) => wants[job.status]).map(record);
      if (wanted.length > 0) await listener.onFinished(manager, wanted);
    }
  }
}
