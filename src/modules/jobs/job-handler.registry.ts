import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { withPluginOrigin } from '../../common/plugin-origin.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { DEFAULT_QUEUE, JOB_HANDLER_METADATA } from './job-handler.decorator.js';
import { JOB_TYPE_PATTERN } from './jobs.contract.js';
import type { JobHandlerMetadata } from './job-handler.decorator.js';
import type { JobContext } from './job-context.js';
import type { BackoffPolicy } from './jobs.contract.js';
import { ENQUEUES_JOBS_METADATA } from './enqueues-jobs.decorator.js';
import { JOB_PAYLOAD_CHECK_METADATA } from './job-payload-check.decorator.js';
import type { JobPayloadProblem } from './job-payload-check.decorator.js';

export const DEFAULT_MAX_ATTEMPTS = 5;

/** A job type's handler with every option resolved. */
export interface RegisteredHandler {
  type: string;
  queue: string;
  maxAttempts: number;
  backoff: BackoffPolicy;
  timeoutMs: number | null;
  concurrency: number | null;
  concurrencyLimit: number;
  payload: (new () => object) | undefined;
  /** Event patterns that route to this type (`@JobHandler(type, { on })`). */
  on: string[];
  /** `Class.method`, with `(plug-in <file>)` for a plug-in's, for messages. */
  source: string;
  invoke(context: JobContext): Promise<unknown>;
  /** The type's `@JobPayloadCheck`, if it has one. */
  checkPayload: ((payload: unknown) => Promise<JobPayloadProblem[]>) | null;
}

/** Thrown at boot when handlers do not add up; the process does not start. */
export class JobHandlerSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobHandlerSetupError';
  }
}

/**
 * Every `@JobHandler` method of every provider, found once at boot, with the type's
 * `@JobPayloadCheck` if one is declared. A job type handled twice, an invalid type name or
 * option, a type that a provider declares it enqueues (`@EnqueuesJobs`) with no handler, or a
 * payload check declared twice or for a type without a handler, stops the boot.
 */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly handlers = new Map<string, RegisteredHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    const enqueued: { type: string; by: string }[] = [];
    const checks: {
      type: string;
      source: string;
      run: (payload: unknown) => Promise<JobPayloadProblem[]>;
    }[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.metatype) continue;
      const className = (instance.constructor as { name: string }).name;
      const declared = this.reflector.get<string[] | undefined>(
        ENQUEUES_JOBS_METADATA,
        wrapper.metatype as () => unknown,
      );
      for (const type of declared ?? []) {
        enqueued.push({ type, by: withPluginOrigin(className, wrapper.host?.metatype) });
      }
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method] as ((...args: unknown[]) => unknown) | undefined;
        if (typeof fn !== 'function') continue;
        const source = withPluginOrigin(`${className}.${method}`, wrapper.host?.metatype);
        const checked = this.reflector.get<string | undefined>(JOB_PAYLOAD_CHECK_METADATA, fn);
        if (checked !== undefined) {
          const run = (payload: unknown) =>
            Promise.resolve(fn.call(instance, payload) as JobPayloadProblem[] | Promise<JobPayloadProblem[]>);
          checks.push({ type: checked, source, run });
        }
        const meta = this.reflector.get<JobHandlerMetadata | undefined>(JOB_HANDLER_METADATA, fn);
        if (!meta) continue;
        const existing = this.handlers.get(meta.type);
        if (existing) {
          problems.push(`job type "${meta.type}" has two handlers: ${existing.source} and ${source}`);
          continue;
        }
        const handler = resolve(meta, source, (context: JobContext) =>
          Promise.resolve(fn.call(instance, context)),
        );
        problems.push(...validate(handler));
        this.handlers.set(meta.type, handler);
      }
    }
    for (const check of checks) {
      const handler = this.handlers.get(check.type);
      if (!handler) {
        problems.push(`job type "${check.type}" has a @JobPayloadCheck (${check.source}) but no @JobHandler`);
      } else if (handler.checkPayload) {
        const first = checks.find((c) => c.type === check.type)!;
        problems.push(`job type "${check.type}" has two payload checks: ${first.source} and ${check.source}`);
      } else {
        handler.checkPayload = check.run;
      }
    }
    for (const { type, by } of enqueued) {
      if (!this.handlers.has(type))
        problems.push(`job type "${type}" is enqueued by ${by} but has no @JobHandler`);
    }
    if (problems.length > 0) {
      throw new JobHandlerSetupError(
        `Job handlers are not set up right:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
  }

  find(type: string): RegisteredHandler | undefined {
    return this.handlers.get(type);
  }

  all(): RegisteredHandler[] {
    return [...this.handlers.values()];
  }

  /** Each queue that has a handler, with its per-process concurrency (the lowest a handler asks for). */
  queues(): Map<string, number | null> {
    const queues = new Map<string, number | null>();
    for (const handler of this.handlers.values()) {
      const current = queues.get(handler.queue) ?? null;
      const own = handler.concurrency;
      queues.set(handler.queue, current === null ? own : own === null ? current : Math.min(current, own));
    }
    return queues;
  }
}

function resolve(
  meta: JobHandlerMetadata,
  source: string,
  invoke: RegisteredHandler['invoke'],
): RegisteredHandler {
  return {
    type: meta.type,
    queue: meta.queue ?? DEFAULT_QUEUE,
    maxAttempts: meta.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: { ...DEFAULT_BACKOFF, ...meta.backoff },
    timeoutMs: meta.timeoutMs ?? null,
    concurrency: meta.concurrency ?? null,
    concurrencyLimit: meta.concurrencyLimit ?? 1,
    payload: meta.payload,
    on: meta.on === undefined ? [] : [meta.on].flat(),
    source,
    invoke,
    checkPayload: null,
  };
}

function validate(handler: RegisteredHandler): string[] {
  const problems: string[] = [];
  const at = `${handler.source} (@JobHandler('${handler.type}'))`;
  const positiveInteger = (value: number | null) => value === null || (Number.isInteger(value) && value >= 1);
  if (!JOB_TYPE_PATTERN.test(handler.type) || handler.type.length > 200)
    problems.push(`${at}: the type must be lowercase words joined by dots or dashes`);
  if (!/^[\w.-]{1,100}$/.test(handler.queue))
    problems.push(`${at}: the queue must be 1-100 letters, digits, _ . -`);
  if (!positiveInteger(handler.maxAttempts))
    problems.push(`${at}: maxAttempts must be an integer of at least 1`);
  if (!positiveInteger(handler.timeoutMs)) problems.push(`${at}: timeoutMs must be a positive integer`);
  if (!positiveInteger(handler.concurrency)) problems.push(`${at}: concurrency must be a positive integer`);
  if (!positiveInteger(handler.concurrencyLimit))
    problems.push(`${at}: concurrencyLimit must be a positive integer`);
  const { baseMs, factor, maxMs } = handler.backoff;
  if (!(baseMs >= 0 && factor >= 1 && maxMs >= baseMs))
    problems.push(`${at}: backoff needs baseMs >= 0, factor >= 1, maxMs >= baseMs`);
  return problems;
}
