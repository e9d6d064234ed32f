import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Batcher } from '../../common/batcher.js';
import { Clock } from '../../common/clock.js';
import { changeOf, JobChanges } from './job-changes.js';
import { JobClaimStore } from './job-claim.store.js';
import { dispatchOf } from './job-dispatch.js';
import type { Dispatch } from './job-dispatch.js';
import type { FailureVerdict } from './job-failure.js';
import { JobLeaseStore, LEASE_EXPIRED } from './job-lease.store.js';
import { JobOutcomeHooks } from './job-outcome-hooks.service.js';
import type { FinalStatus, FinishedJob } from './job-outcome-hooks.service.js';
import { JobOutcomeStore } from './job-outcome.store.js';
import type { Success } from './job-outcome.store.js';
import { JobRunStore } from './job-run.store.js';
import type { JobLogLine } from './job-run.store.js';
import type { Job } from './job.entity.js';
import { JobStore } from './job.store.js';
import type { JobStatus } from './jobs.contract.js';
import { LedgerTransactions, retryOnDeadlock } from './ledger-transactions.store.js';
import { LeaseOwner } from './lease-owner.js';
import { decideRetry } from './retry-decision.js';

/** How an attempt ended, as the executor saw it. */
export type AttemptResult =
  { kind: 'succeeded'; result: string } | { kind: 'failed'; failure: FailureVerdict };

export interface Recorded {
  /** False when the job was no longer this worker's (cancelled, or its lease expired): nothing was written. */
  recorded: boolean;
  status: JobStatus | null;
  /** Set when a retry (or, status `queued`, a deferral) was scheduled. */
  retry: Dispatch | null;
}

/**
 * Why a claim of one job by id found nothing to run: it is no longer waiting, or it waits but
 * cannot run yet (not due, or its concurrency key is at its limit) and should be delivered again
 * at `retry.runAt`.
 */
export type ClaimMiss = { kind: 'gone' } | { kind: 'not-yet'; retry: Dispatch };

interface Outcome {
  job: Job;
  result: AttemptResult;
  /** The attempt's log lines not written yet: they commit with the outcome. */
  logs: JobLogLine[];
}

const GONE: ClaimMiss = { kind: 'gone' };
const SUCCEEDED: Recorded = { recorded: true, status: 'succeeded', retry: null };
const NOT_RECORDED: Recorded = { recorded: false, status: null, retry: null };
/**
 * Outcomes are gathered this long before they are written together: in bench:partner's floor that
 * made groups of about 40 instead of 12 (with a setImmediate's gathering), a third as many commits.
 */
const OUTCOME_GATHER_MS = 8;
/** Retry a job whose concurrency key is at its limit this much later. */
const BLOCKED_RETRY_MS = 500;

/**
 * Every state change of a running job, each one a guarded statement: a worker changes a job only
 * while it holds the lease for that attempt, so a result that arrives after a cancel, or after the
 * lease expired and another worker took the job, is not recorded. Claims and outcomes that arrive
 * together are grouped, each group written at once; the stores hold the SQL.
 */
@Injectable()
export class JobLedger {
  /** This process, as the owner of the leases it holds. */
  readonly workerId: string;
  private readonly claims: Batcher<{ id: string; keyed: boolean }, Job | ClaimMiss>;
  private readonly outcomes: Batcher<Outcome, Recorded>;
  private readonly logs: Batcher<JobLogLine[], undefined>;

  constructor(
    private readonly claimStore: JobClaimStore,
    private readonly outcomeStore: JobOutcomeStore,
    private readonly leaseStore: JobLeaseStore,
    private readonly runStore: JobRunStore,
    private readonly transactions: LedgerTransactions,
    private readonly hooks: JobOutcomeHooks,
    private readonly jobStore: JobStore,
    private readonly clock: Clock,
    private readonly changes: JobChanges,
    owner: LeaseOwner,
  ) {
    this.workerId = owner.workerId;
    this.claims = new Batcher((group) => this.claimGroup(group));
    // Gathered for a few ms: completions of partner calls arrive one at a time, each as its own
    // I/O event, and nothing waits on them (the slot is already free), so larger groups cost only
    // that much delay before the job shows finished.
    this.outcomes = new Batcher((group) => this.recordGroup(group), { gatherMs: OUTCOME_GATHER_MS });
    this.logs = new Batcher(async (groups) => {
      await this.runStore.appendLogs(groups.flat());
      return groups.map(() => undefined);
    });
  }

  /** Claims up to `limit` due jobs of a queue in priority order, in one statement. */
  async claimBatch(queue: string, limit: number): Promise<Job[]> {
    const jobs = await this.claimStore.claimQueue(queue, limit);
    this.changes.announce(() => jobs.map((job) => changeOf(job)));
    return jobs;
  }

  /**
   * Claims one job by id (Bull delivered it), or says why it cannot run now. Claims that arrive
   * together are made in one statement.
   */
  claimOne(id: string, keyed: boolean): Promise<Job | ClaimMiss> {
    return this.claims.submit({ id, keyed });
  }

  private async claimGroup(claims: { id: string; keyed: boolean }[]): Promise<(Job | ClaimMiss)[]> {
    const { claimed, waiting, at } = await this.claimStore.claimByIds(
      [...new Set(claims.map((c) => c.id))],
      claims.some((c) => c.keyed),
    );
    this.changes.announce(() => claimed.map((job) => changeOf(job)));
    const outcomes = new Map<string, Job | ClaimMiss>(claimed.map((job) => [job.id, job]));
    for (const job of waiting) {
      // Not due yet: delivered again when it is. Due but not claimed (its concurrency key is at its
      // limit): delivered again a little later.
      const runAt = job.runAt <= at ? new Date(at.getTime() + BLOCKED_RETRY_MS) : job.runAt;
      outcomes.set(job.id, { kind: 'not-yet', retry: { ...job, runAt } });
    }
    return claims.map((claim) => {
      const outcome = outcomes.get(claim.id) ?? GONE;
      // A job delivered twice in one group runs once.
      outcomes.set(claim.id, GONE);
      return outcome;
    });
  }

  /**
   * Records how an attempt ended, with the attempt's log lines not yet written (those are written
   * even when the outcome is not, as they would have been alone). Outcomes that arrive together
   * are written in one transaction (on SQLite every transaction waits its turn, so fewer, larger
   * ones go faster).
   */
  async record(job: Job, result: AttemptResult, logs: JobLogLine[] = []): Promise<Recorded> {
    const recorded = await this.outcomes.submit({ job, result, logs });
    const { status } = recorded;
    if (status) this.changes.announce(() => [changeOf(job, status)]);
    return recorded;
  }

  private recordGroup(group: Outcome[]): Promise<Recorded[]> {
    // In id order, as lease renewal locks them, so the two cannot deadlock on PostgreSQL.
    const sorted = [...group].sort((a, b) => (a.job.id < b.job.id ? -1 : 1));
    const allSucceeded = group.every((item) => item.result.kind === 'succeeded');
    const logs = group.flatMap((item) => item.logs);
    if (this.outcomeStore.canSucceedAlone && allSucceeded && !this.hooks.wants('succeeded')) {
      // The common case is one statement, a transaction of its own.
      return retryOnDeadlock(async () => {
        const done = await this.outcomeStore.succeedAlone(successesOf(sorted), logs, this.clock.now());
        return group.map((item) => (done.has(item.job.id) ? SUCCEEDED : NOT_RECORDED));
      });
    }
    return retryOnDeadlock(() =>
      this.transactions.run(
        async (manager, now) => {
          const out = new Map<Outcome, Recorded>();
          await this.runStore.insertLogs(manager, logs);
          const successes = sorted.filter((item) => item.result.kind === 'succeeded');
          if (successes.length > 1) {
            const done = await this.outcomeStore.succeedMany(manager, successesOf(successes), now);
            for (const item of successes) out.set(item, done.has(item.job.id) ? SUCCEEDED : NOT_RECORDED);
          }
          for (const item of sorted) {
            if (!out.has(item)) out.set(item, await this.recordOne(manager, item, now));
          }
          await this.hooks.notify(
            manager,
            sorted.flatMap((item) => {
              const { status } = out.get(item)!;
              return status === 'succeeded' || status === 'dead' ? [{ status, item }] : [];
            }),
            ({ status, item }) => finishedJob(item.job, status, item.result),
          );
          return group.map((item) => out.get(item)!);
        },
        { durability: 'relaxed' },
      ),
    );
  }

  /** One outcome: a success, or a failure retried later, dead or deferred as `decideRetry` says. */
  private async recordOne(manager: EntityManager, { job, result }: Outcome, now: Date): Promise<Recorded> {
    if (result.kind === 'succeeded') {
      return (await this.outcomeStore.succeed(manager, job, result.result, now)) ? SUCCEEDED : NOT_RECORDED;
    }
    const decision = decideRetry(job, result.failure, now);
    if (!(await this.outcomeStore.fail(manager, job, result.failure, decision, now))) return NOT_RECORDED;
    return {
      recorded: true,
      status: decision.status,
      retry: decision.status === 'dead' ? null : dispatchOf(job, decision.runAt),
    };
  }

  /** Extends the leases of this worker's running jobs; returns the ids it still holds. */
  renewLeases(): Promise<Set<string>> {
    return this.leaseStore.renew();
  }

  /**
   * Puts back every job whose lease expired (its worker died or stalled): the attempt counts as
   * failed with LEASE_EXPIRED; the job runs again at once, or is dead if that was its last attempt.
   */
  async expireLeases(): Promise<Dispatch[]> {
    const { dead, requeued } = await this.transactions.run(
      async (manager, now) => {
        const expired = await this.leaseStore.expire(manager, now);
        // Read only when a listener will be told: a worker's crash on last attempts is rare.
        const payloads = new Map<string, unknown>();
        if (expired.dead.length > 0 && this.hooks.wants('dead')) {
          for (const { id } of expired.dead)
            payloads.set(id, (await this.jobStore.find(id, manager))?.payload);
        }
        await this.hooks.notify(
          manager,
          expired.dead.map((job) => ({
            id: job.id,
            type: job.type,
            queue: job.queue,
            status: 'dead' as const,
            attempts: job.attempts,
            eventId: job.eventId,
            payload: payloads.get(job.id) ?? null,
            result: null,
            error: { code: LEASE_EXPIRED.code, message: LEASE_EXPIRED.message },
          })),
          (job) => job,
        );
        return expired;
      },
      { durability: 'full' },
    );
    this.changes.announce(() => [
      ...requeued.map(({ id, queue, attempt }) => ({ id, queue, attempt, status: 'queued' as const })),
      ...dead.map(({ id, type, queue, attempts }) => ({
        id,
        type,
        queue,
        attempt: attempts,
        status: 'dead' as const,
      })),
    ]);
    return requeued;
  }

  /** Shutdown: hands this worker's unfinished jobs back at once, the attempt marked interrupted. */
  release(ids: string[]): Promise<Dispatch[]> {
    return this.leaseStore.release(ids);
  }

  /**
   * Shutdown: hands back jobs this worker claimed but never started, as if never claimed (their
   * attempt is taken back), so they keep their attempts and any worker may take them at once.
   */
  unclaim(jobs: Job[]): Promise<Dispatch[]> {
    return this.leaseStore.unclaim(jobs);
  }

  /** Writes progress while this worker holds the job. */
  setProgress(job: Job, value: number): Promise<void> {
    return this.runStore.setProgress(job, value);
  }

  /**
   * Writes log lines ahead of their attempt's outcome (a long attempt's, or one whose outcome is
   * not recorded). Lines that arrive together are written in one transaction.
   */
  appendLogs(lines: JobLogLine[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.logs.submit(lines).then(() => undefined);
  }

  /** The results of the steps a job completed in earlier attempts, by name. */
  completedSteps(jobId: string, manager?: EntityManager): Promise<Map<string, unknown>> {
    return this.runStore.completedSteps(jobId, manager);
  }

  /** Stores a completed step, if this worker still holds the job; returns false otherwise. */
  saveStep(job: Job, name: string, result: string | null): Promise<boolean> {
    return this.runStore.saveStep(job, name, result);
  }
}

function successesOf(items: Outcome[]): Success[] {
  return items.flatMap(({ job, result }) =>
    result.kind === 'succeeded' ? [{ job, result: result.result }] : [],
  );
}

function finishedJob(job: Job, status: FinalStatus, result: AttemptResult): FinishedJob {
  return {
    id: job.id,
    type: job.type,
    queue: job.queue,
    status,
    attempts: job.attempt,
    eventId: job.eventId,
    payload: job.payload,
    result: result.kind === 'succeeded' ? (JSON.parse(result.result) as unknown) : null,
    error: result.kind === 'failed' ? { code: result.failure.code, message: result.failure.message } : null,
  };
}
