import { Injectable, Module } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import type { JobContext } from '../../src/modules/jobs/job-context.js';
import { JobFailure } from '../../src/modules/jobs/job-failure.js';
import { JobHandler } from '../../src/modules/jobs/job-handler.decorator.js';

const FAST_BACKOFF = { baseMs: 10, factor: 2, maxMs: 50 };

export class TypedPayload {
  @IsString()
  @MaxLength(20)
  orderId!: string;
}

/** What the test handlers saw, for the specs to assert on. */
@Injectable()
export class JobProbe {
  /** Runs per job id. */
  readonly runs = new Map<string, number>();
  /** Executions per step name, across jobs. */
  readonly stepRuns = new Map<string, number>();
  /** Why each blocking job's signal aborted. */
  readonly abortReasons = new Map<string, string>();
  readonly running = new Map<string, number>();
  maxRunningPerKey = 0;
  private readonly gates = new Map<string, () => void>();
  private readonly started = new Map<string, () => void>();
  private readonly startedPromises = new Map<string, Promise<void>>();

  count(id: string): number {
    const n = (this.runs.get(id) ?? 0) + 1;
    this.runs.set(id, n);
    return n;
  }

  /** Resolves once the blocking job with this gate has started. */
  whenStarted(gate: string): Promise<void> {
    let promise = this.startedPromises.get(gate);
    if (!promise) {
      promise = new Promise<void>((resolve) => this.started.set(gate, resolve));
      this.startedPromises.set(gate, promise);
    }
    return promise;
  }

  markStarted(gate: string): void {
    void this.whenStarted(gate);
    this.started.get(gate)?.();
  }

  open(gate: string): void {
    this.gates.get(gate)?.();
  }

  wait(gate: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.gates.set(gate, resolve);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }
}

@Injectable()
export class TestJobHandlers {
  constructor(private readonly probe: JobProbe) {}

  @JobHandler('test.echo')
  echo(ctx: JobContext): unknown {
    this.probe.count(ctx.jobId);
    return { echoed: ctx.payload, attempt: ctx.attempt, idempotencyKey: ctx.idempotencyKey };
  }

  @JobHandler('test.typed', { payload: TypedPayload })
  typed(ctx: JobContext<TypedPayload>): string {
    return ctx.payload.orderId;
  }

  @JobHandler('test.flaky', { backoff: FAST_BACKOFF, maxAttempts: 5 })
  flaky(ctx: JobContext<{ failUntil: number }>): number {
    this.probe.count(ctx.jobId);
    if (ctx.attempt < ctx.payload.failUntil) throw new Error(`failure number ${ctx.attempt}`);
    return ctx.attempt;
  }

  @JobHandler('test.always-fails', { backoff: FAST_BACKOFF, maxAttempts: 3 })
  alwaysFails(ctx: JobContext): never {
    throw Object.assign(new Error(`partner down (attempt ${ctx.attempt})`), { code: 'TEMPORARY' });
  }

  @JobHandler('test.permanent', { backoff: FAST_BACKOFF, maxAttempts: 5 })
  permanent(): never {
    throw JobFailure.permanent('the partner refused this order');
  }

  @JobHandler('test.rate-limited', { backoff: { baseMs: 0, factor: 1, maxMs: 0 }, maxAttempts: 3 })
  rateLimited(ctx: JobContext<{ retryAfterMs: number }>): number {
    if (ctx.attempt === 1) throw JobFailure.rateLimited('429 from partner', ctx.payload.retryAfterMs);
    return Date.now();
  }

  @JobHandler('test.slow', { timeoutMs: 150, backoff: FAST_BACKOFF, maxAttempts: 2 })
  async slow(ctx: JobContext): Promise<string> {
    this.probe.count(ctx.jobId);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 5000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason as Error);
      });
    });
    return 'too late';
  }

  /** Runs until the test opens its gate (payload.gate), or its signal aborts. */
  @JobHandler('test.blocking', { queue: 'blocking' })
  async blocking(ctx: JobContext<{ gate: string }>): Promise<string> {
    const gate = ctx.payload.gate;
    try {
      this.probe.markStarted(gate);
      await this.probe.wait(gate, ctx.signal);
      return `opened ${gate}`;
    } catch (error) {
      this.probe.abortReasons.set(gate, (error as { code?: string }).code ?? String(error));
      throw error;
    }
  }

  @JobHandler('test.keyed', { queue: 'keyed', concurrencyLimit: 2 })
  async keyed(ctx: JobContext<{ key: string }>): Promise<void> {
    const key = ctx.payload.key;
    const now = (this.probe.running.get(key) ?? 0) + 1;
    this.probe.running.set(key, now);
    this.probe.maxRunningPerKey = Math.max(this.probe.maxRunningPerKey, now);
    await new Promise((resolve) => setTimeout(resolve, 30));
    this.probe.running.set(key, (this.probe.running.get(key) ?? 1) - 1);
  }

  /** Takes payload.ms, or less if its signal aborts. */
  @JobHandler('test.sleep', { queue: 'sleepy' })
  async sleep(ctx: JobContext<{ ms: number }>): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ctx.payload.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason as Error);
      });
    });
  }

  /** Creates at a provider, maps DNS, stores details; the first attempt fails after mapping DNS. */
  @JobHandler('test.flow', { backoff: FAST_BACKOFF })
  async flow(ctx: JobContext<{ name: string }>): Promise<unknown> {
    const server = await ctx.step('create-at-provider', () => this.stepRun('create', { serverId: 'srv-9' }));
    const dns = await ctx.step('map-dns', () =>
      this.stepRun('dns', { record: `${ctx.payload.name}.example.com` }),
    );
    await ctx.log(`attempt ${ctx.attempt}: server ${server.serverId}, dns ${dns.record}`);
    if (ctx.attempt === 1) throw new Error('storing details failed');
    const stored = await ctx.step('store-details', () => this.stepRun('store', { stored: true }));
    await ctx.progress(100);
    return { ...server, ...dns, ...stored };
  }

  private stepRun<T>(name: string, value: T): Promise<T> {
    this.probe.stepRuns.set(name, (this.probe.stepRuns.get(name) ?? 0) + 1);
    return Promise.resolve(value);
  }
}

@Module({ providers: [JobProbe, TestJobHandlers] })
export class TestJobsModule {}
