import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { SpanKind, Tracing, markFailed } from '../../common/tracing/tracing.js';
import type { Span } from '../../common/tracing/tracing.js';
import type { JobContext } from './job-context.js';
import { describeFailure, JobFailure } from './job-failure.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobLedger } from './job-ledger.service.js';
import type { Dispatch } from './job-dispatch.js';
import type { AttemptResult, Recorded } from './job-ledger.service.js';
import type { JobLogLine } from './job-run.store.js';
import type { Job } from './job.entity.js';
import { JobsMetrics } from './jobs.metrics.js';

/** Why this worker stopped an attempt before its handler finished. */
export class AttemptStopped extends Error {
  constructor(
    readonly code: 'TIMEOUT' | 'CANCELLED' | 'LEASE_LOST' | 'SHUTDOWN',
    message: string,
  ) {
    super(message);
    this.name = 'AttemptStopped';
  }
}

interface RunningAttempt {
  job: Job;
  controller: AbortController;
}

/**
 * An attempt's log lines are kept here and written with its outcome, in the same transaction, so
 * logging costs no write of its own. A line kept this long is written sooner, so a long attempt's
 * log can be followed while it runs.
 */
const LOG_FLUSH_MS = 1000;

/** The log lines of one attempt that are not written yet. */
class AttemptLog {
  private lines: JobLogLine[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly job: Job,
    private readonly clock: Clock,
    private readonly flush: (lines: JobLogLine[]) => void,
  ) {}

  add(message: string): void {
    const at = this.clock.now();
    this.lines.push({ id: newId(), jobId: this.job.id, attempt: this.job.attempt, message, at });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush(this.take());
    }, LOG_FLUSH_MS).unref();
  }

  /** The lines not written yet, which the caller now writes. */
  take(): JobLogLine[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.lines.splice(0);
  }
}

/**
 * Runs claimed jobs: builds the handler's context, enforces the timeout, and records the outcome
 * in the ledger. Both transports hand it the jobs they claimed.
 */
@Injectable()
export class JobExecutor {
  private readonly logger = new Logger('Jobs');
  private readonly running = new Map<string, RunningAttempt>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly registry: JobHandlerRegistry,
    private readonly ledger: JobLedger,
    private readonly metrics: JobsMetrics,
    private readonly clock: Clock,
    private readonly tracing: Tracing,
  ) {}

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Holds a job this worker claimed ahead, before a slot is free to run it: it counts as running
   * here (drained, released or aborted at shutdown like the rest) from the claim on.
   */
  reserve(job: Job): void {
    this.running.set(job.id, { job, controller: new AbortController() });
  }

  /** Forgets a job reserved here that was handed back before it started. */
  unreserve(id: string): void {
    this.running.delete(id);
    if (this.running.size === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
  }

  /**
   * Runs one attempt to its end; returns the retry to dispatch, if one was scheduled.
   * `handlerSettled` is called as soon as the handler is done, before the outcome is written, so
   * a transport can give the handler's slot to the next job meanwhile.
   */
  async run(job: Job, handlerSettled: () => void = () => undefined): Promise<Dispatch | null> {
    const controller = this.running.get(job.id)?.controller ?? new AbortController();
    this.running.set(job.id, { job, controller });
    const timer =
      job.timeoutMs === null
        ? undefined
        : setTimeout(
            () =>
              controller.abort(
                new AttemptStopped('TIMEOUT', `the attempt took longer than ${job.timeoutMs} ms`),
              ),
            job.timeoutMs,
          );
    const startedAt = performance.now();
    const log = new AttemptLog(job, this.clock, (lines) => void this.writeLogs(job, lines));
    // One span per attempt, the child of whatever enqueued the job, in this process or another.
    const span = this.tracing.enabled ? this.startSpan(job) : null;
    let result: AttemptResult | null;
    try {
      // Stopped while it waited for a slot (cancelled, say): it ends as if stopped running, and
      // its handler, whose side effects nothing would then undo, never starts.
      controller.signal.throwIfAborted();
      const handler = this.registry.find(job.type);
      if (!handler)
        throw new JobFailure('UNKNOWN_JOB_TYPE', `no handler for job type "${job.type}" in this build`);
      const context = this.context(job, controller.signal, log);
      const value = await untilAborted(
        span ? this.tracing.withSpan(span, () => handler.invoke(context)) : handler.invoke(context),
        controller.signal,
      );
      result = { kind: 'succeeded', result: serializeResult(value) };
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      if (reason instanceof AttemptStopped && reason.code !== 'TIMEOUT') result = null;
      else result = { kind: 'failed', failure: describeFailure(reason ?? error) };
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    handlerSettled();
    // Lines logged after this (by work the handler left running) are written on their own.
    const lines = log.take();
    let recorded: Recorded | null = null;
    try {
      // Inside the span, so the events the outcome emits (job.dead...) continue its trace.
      if (result)
        recorded = await (span
          ? this.tracing.withSpan(span, () => this.ledger.record(job, result, lines))
          : this.ledger.record(job, result, lines));
      else await this.writeLogs(job, lines);
    } catch (error) {
      this.logger.error(`could not record the outcome of job ${job.id}: ${String(error)}`);
      if (result) await this.writeLogs(job, lines);
    } finally {
      this.running.delete(job.id);
      if (this.running.size === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
    }
    const outcome = attemptOutcome(recorded);
    this.metrics.attemptFinished(job.type, outcome, seconds);
    if (span) endAttemptSpan(span, outcome, result);
    return recorded?.retry ?? null;
  }

  private startSpan(job: Job): Span | null {
    return this.tracing.startSpan(
      `job ${job.type}`,
      SpanKind.CONSUMER,
      {
        'job.id': job.id,
        'job.type': job.type,
        'job.attempt': job.attempt,
        'job.queue': job.queue,
        ...(job.eventId ? { 'event.id': job.eventId } : {}),
      },
      job.traceParent,
    );
  }

  /** Aborts a job running here (cancel, lost lease, shutdown); its outcome is then not recorded. */
  abort(id: string, reason: AttemptStopped): void {
    const attempt = this.running.get(id);
    if (attempt && !attempt.controller.signal.aborted) attempt.controller.abort(reason);
  }

  /** Resolves when nothing is running, or after `ms`; returns whether everything finished. */
  async drain(ms: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const finished = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return finished;
  }

  /** Writes log lines ahead of (or without) the outcome; a failure to is reported, not thrown. */
  private async writeLogs(job: Job, lines: JobLogLine[]): Promise<void> {
    try {
      await this.ledger.appendLogs(lines);
    } catch (error) {
      this.logger.warn(`could not write ${lines.length} log line(s) of job ${job.id}: ${String(error)}`);
    }
  }

  private context(job: Job, signal: AbortSignal, log: AttemptLog): JobContext {
    let steps: Promise<Map<string, unknown>> | undefined;
    return {
      jobId: job.id,
      type: job.type,
      payload: job.payload,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      idempotencyKey: job.idempotencyKey,
      eventId: job.eventId,
      signal,
      progress: (value) => this.ledger.setProgress(job, value),
      log: (message) => {
        log.add(String(message).slice(0, 10_000));
        return Promise.resolve();
      },
      step: async <T>(name: string, work: () => Promise<T>): Promise<T> => {
        steps ??= this.ledger.completedSteps(job.id);
        const done = await steps;
        if (done.has(name)) return done.get(name) as T;
        signal.throwIfAborted();
        const value = await work();
        if (!(await this.ledger.saveStep(job, name, serializeResult(value)))) {
          throw new AttemptStopped('LEASE_LOST', 'the job is no longer held by this worker');
        }
        done.set(name, value);
        return value;
      },
    };
  }
}

/**
 * Ends an attempt's span with its outcome; a failed attempt (retried or dead) is an ERROR, one
 * deferred by a spent rate budget is not.
 */
function endAttemptSpan(span: Span, outcome: string, result: AttemptResult | null): void {
  span.setAttribute('job.outcome', outcome);
  if (result?.kind === 'failed' && outcome !== 'deferred') {
    markFailed(span, result.failure.code, result.failure.message);
  }
  span.end();
}

/** How an attempt ended, for metrics: the job's new state, or `deferred` (queued again, not a failure). */
function attemptOutcome(recorded: Recorded | null): string {
  if (!recorded?.recorded) return 'discarded';
  return recorded.status === 'queued' ? 'deferred' : (recorded.status ?? 'unknown');
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function serializeResult(value: unknown): string {
  try {
    return JSON.stringify(value ?? null);
  } catch (error) {
    throw new JobFailure('PERMANENT', `the handler's result is not JSON: ${String(error)}`);
  }
}
