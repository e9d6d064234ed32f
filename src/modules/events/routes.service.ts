import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { isUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import { compileFilter } from '../../common/event-filter.js';
import { ExpiringCache } from '../../common/expiring-cache.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { compileEventPattern } from './event-name.js';
import { EVENT_VIEW_FIELDS } from './event-view.js';
import type { EventView } from './event-view.js';
import { EventError } from './event.error.js';
import { Route } from './route.entity.js';
import type { RouteJobOptions } from './route.entity.js';
import { RouteStore } from './route.store.js';
import { MAX_KEY_LENGTH, storableKey } from '../../common/storable-key.js';
import { renderTemplate, renderText, templateProblems } from '../../common/template.js';

/** What a route is made of, whether stored or declared in code. */
export interface RouteSpec {
  name: string;
  eventPattern: string;
  filter: Record<string, unknown> | null;
  jobType: string;
  payloadTemplate: unknown;
  jobOptions: RouteJobOptions;
  enabled: boolean;
}

/** A route as listed: stored routes have a UUID, code routes an id `code:<jobType>:<pattern>`. */
export interface RouteRecord extends RouteSpec {
  id: string;
  origin: 'api' | 'code';
  createdAt: Date | null;
  updatedAt: Date | null;
}

interface CompiledRoute {
  id: string;
  spec: RouteSpec;
  pattern: RegExp;
  filter: ((event: EventView) => boolean) | null;
}

/** Thrown at boot for a code route (`@JobHandler(type, { on })`) whose pattern is not a glob. */
export class RouteSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteSetupError';
  }
}

/**
 * Routes: which events start which jobs. Stored routes are compiled once and kept for
 * `events.cacheMs` (a change through this process applies at once); code routes come from
 * `@JobHandler(type, { on })` and cannot be changed through the API.
 */
@Injectable()
export class RoutesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RoutesService.name);
  private codeRoutes: CompiledRoute[] = [];
  private readonly compiled: ExpiringCache<CompiledRoute[]>;

  constructor(
    private readonly store: RouteStore,
    private readonly jobs: JobsService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.compiled = new ExpiringCache(() => this.load(), config.events.cacheMs);
  }

  async onApplicationBootstrap(): Promise<void> {
    const problems: string[] = [];
    for (const handler of this.jobs.handlers()) {
      for (const eventPattern of handler.on) {
        const pattern = compileEventPattern(eventPattern);
        if (!pattern) {
          problems.push(`${handler.source}: "${eventPattern}" is not an event pattern`);
          continue;
        }
        const spec: RouteSpec = {
          name: `${handler.type} on ${eventPattern}`,
          eventPattern,
          filter: null,
          jobType: handler.type,
          payloadTemplate: null,
          jobOptions: {},
          enabled: true,
        };
        this.codeRoutes.push({ id: `code:${handler.type}:${eventPattern}`, spec, pattern, filter: null });
      }
    }
    if (problems.length > 0) {
      throw new RouteSetupError(
        `Code routes are not set up right:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
    await this.compiled.get();
  }

  async create(spec: RouteSpec): Promise<RouteRecord> {
    await this.check(spec, true);
    const route = await this.serializer.transaction(async (manager) => {
      if (await this.store.nameTaken(manager, spec.name)) throw nameTaken(spec.name);
      const now = this.clock.now();
      const row = Object.assign(new Route(), spec, { id: newId(), createdAt: now, updatedAt: now });
      await this.store.save(manager, row);
      return row;
    });
    this.invalidate();
    return toRecord(route);
  }

  async update(id: string, changes: Partial<RouteSpec>): Promise<RouteRecord> {
    if (id.startsWith('code:')) throw readOnly(id);
    const route = await this.serializer.transaction(async (manager) => {
      const row = await this.store.findById(id, manager);
      if (!row) throw notFound(id);
      const spec: RouteSpec = { ...specOf(row), ...changes };
      // A route whose connection went away can still be renamed or disabled.
      await this.check(spec, changes.jobType !== undefined || changes.payloadTemplate !== undefined);
      if (spec.name !== row.name && (await this.store.nameTaken(manager, spec.name)))
        throw nameTaken(spec.name);
      Object.assign(row, spec, { updatedAt: this.clock.now() });
      await this.store.save(manager, row);
      return row;
    });
    this.invalidate();
    return toRecord(route);
  }

  async remove(id: string): Promise<void> {
    if (id.startsWith('code:')) throw readOnly(id);
    const deleted = await this.serializer.transaction((manager) => this.store.delete(manager, id));
    if (!deleted) throw notFound(id);
    this.invalidate();
  }

  /**
   * Makes the stored routes whose names start with `prefix` exactly `wanted`, in the caller's
   * transaction: a module keeps the routes its own settings ask for this way (a project's Jenkins
   * builds). Each is checked like one made through the API.
   */
  async reconcile(manager: EntityManager, prefix: string, wanted: RouteSpec[]): Promise<void> {
    const existing = new Map(
      (await this.store.findByNamePrefix(manager, prefix)).map((route) => [route.name, route]),
    );
    const now = this.clock.now();
    for (const spec of wanted) {
      if (!spec.name.startsWith(prefix)) throw new Error(`${spec.name} does not start with ${prefix}`);
      await this.check(spec, true);
      const current = existing.get(spec.name);
      existing.delete(spec.name);
      if (current && JSON.stringify(specOf(current)) === JSON.stringify(spec)) continue;
      const row = current ?? Object.assign(new Route(), { id: newId(), createdAt: now });
      await this.store.save(manager, Object.assign(row, spec, { updatedAt: now }));
    }
    for (const route of existing.values()) await this.store.delete(manager, route.id);
    this.serializer.afterCommit(manager, () => this.invalidate());
  }

  async get(id: string): Promise<RouteRecord> {
    const code = this.codeRoutes.find((route) => route.id === id);
    if (code) return codeRecord(code);
    const row = isUUID(id) ? await this.store.findById(id) : null;
    if (!row) throw notFound(id);
    return toRecord(row);
  }

  /** Code routes first, then stored routes by name. */
  async list(): Promise<RouteRecord[]> {
    const rows = await this.store.listByName();
    return [...this.codeRoutes.map(codeRecord), ...rows.map(toRecord)];
  }

  /** One job per enabled route that matches the event. */
  async jobsFor(event: EventView, replayKey?: string): Promise<EnqueueRequest[]> {
    const routes = await this.compiled.get();
    const requests: EnqueueRequest[] = [];
    for (const route of routes) {
      if (!route.pattern.test(event.name) || !this.passes(route, event)) continue;
      const { payloadTemplate, jobOptions } = route.spec;
      const concurrencyKey =
        jobOptions.concurrencyKey === undefined ? null : renderText(jobOptions.concurrencyKey, event);
      requests.push({
        type: route.spec.jobType,
        payload: payloadTemplate === null ? event : renderTemplate(payloadTemplate, event),
        options: {
          eventId: event.id,
          priority: jobOptions.priority,
          delayMs: jobOptions.delayMs,
          maxAttempts: jobOptions.maxAttempts,
          concurrencyKey: concurrencyKey === null ? undefined : storableKey(concurrencyKey),
          idempotencyKey:
            replayKey === undefined ? undefined : `${replayKey}:${route.id}`.slice(0, MAX_KEY_LENGTH),
        },
      });
    }
    return requests;
  }

  /**
   * Whether some enabled route may match events of this name. Synchronous, so it answers from the
   * routes compiled last (and starts a refresh when they are older than the cache allows).
   */
  listensTo(name: string): boolean {
    if (this.compiled.isStale()) void this.compiled.get().catch(() => undefined);
    return (this.compiled.latest ?? []).some((route) => route.pattern.test(name));
  }

  private passes(route: CompiledRoute, event: EventView): boolean {
    if (!route.filter) return true;
    try {
      return route.filter(event);
    } catch (error) {
      this.logger.warn(`route ${route.spec.name}: the filter failed on event ${event.id}: ${String(error)}`);
      return false;
    }
  }

  /** Compiles the changed routes at once, so `listensTo` sees them too. */
  private invalidate(): void {
    this.compiled.invalidate();
    void this.compiled.get().catch(() => undefined);
  }

  private async load(): Promise<CompiledRoute[]> {
    const rows = await this.store.listEnabled();
    const known = new Set(this.jobs.handlers().map((handler) => handler.type));
    const compiled = [...this.codeRoutes];
    for (const row of rows) {
      const pattern = compileEventPattern(row.eventPattern);
      if (!pattern || !known.has(row.jobType)) {
        // A stored route can outlive its job type: the handler may have left the code since.
        this.logger.warn(`route ${row.name} is skipped: its pattern or job type ${row.jobType} is unknown`);
        continue;
      }
      let filter: CompiledRoute['filter'] = null;
      try {
        if (row.filter) filter = compileFilter<EventView>(row.filter);
      } catch (error) {
        // Saved before its operator was refused (`$where`): it must not run.
        this.logger.warn(`route ${row.name} is skipped: its filter ${(error as Error).message}`);
        continue;
      }
      compiled.push({ id: row.id, spec: specOf(row), pattern, filter });
    }
    return compiled;
  }

  /**
   * Refuses a route that could not work, naming each field that is wrong. With `checkPayload`, the
   * template's literal values also go through the job type's payload check (a connection or an
   * action that does not exist); values that come from the event are only known when one arrives.
   */
  private async check(spec: RouteSpec, checkPayload: boolean): Promise<void> {
    const problems: { field: string; problems: string[] }[] = [];
    const add = (field: string, found: string[]) => {
      if (found.length > 0) problems.push({ field, problems: found });
    };
    if (!compileEventPattern(spec.eventPattern)) {
      add('eventPattern', [
        `"${spec.eventPattern}" is not a pattern: dot-separated names, * for one segment, ** for one or more`,
      ]);
    }
    if (spec.filter !== null) {
      if (typeof spec.filter !== 'object' || Array.isArray(spec.filter)) {
        add('filter', ['the filter must be an object, a MongoDB-style query']);
      } else {
        try {
          compileFilter(spec.filter);
        } catch (error) {
          add('filter', [(error as Error).message]);
        }
      }
    }
    const known = this.jobs.handlers().some((handler) => handler.type === spec.jobType);
    if (!known) add('jobType', [`no handler for job type "${spec.jobType}"`]);
    if (spec.payloadTemplate !== null) {
      const found = templateProblems(spec.payloadTemplate, EVENT_VIEW_FIELDS);
      add('payloadTemplate', found);
      const literal = found.length === 0 ? literalPart(spec.payloadTemplate) : undefined;
      if (known && checkPayload && literal !== undefined) {
        for (const problem of await this.jobs.checkPayload(spec.jobType, literal))
          add(`payloadTemplate.${problem.path}`, [problem.message]);
      }
    }
    if (spec.jobOptions.concurrencyKey !== undefined) {
      add('jobOptions.concurrencyKey', templateProblems(spec.jobOptions.concurrencyKey, EVENT_VIEW_FIELDS));
    }
    if (problems.length > 0) {
      throw new EventError(
        'INVALID_ROUTE',
        `the route cannot work: ${problems.map((p) => p.field).join(', ')} ${problems.length === 1 ? 'is' : 'are'} wrong`,
        problems,
      );
    }
  }
}

/**
 * The part of a payload template that is fixed: a string with a `{{...}}` placeholder is left
 * out, and so is an array with one anywhere in it, or an object left empty. Undefined when
 * nothing is fixed.
 */
function literalPart(template: unknown): unknown {
  if (typeof template === 'string') return template.includes('{{') ? undefined : template;
  if (Array.isArray(template)) return JSON.stringify(template).includes('{{') ? undefined : template;
  if (template !== null && typeof template === 'object') {
    const fixed = Object.entries(template).flatMap(([key, value]) => {
      const part = literalPart(value);
      return part === undefined ? [] : [[key, part] as const];
    });
    return fixed.length > 0 ? Object.fromEntries(fixed) : undefined;
  }
  return template;
}

function specOf(row: Route): RouteSpec {
  return {
    name: row.name,
    eventPattern: row.eventPattern,
    filter: row.filter,
    jobType: row.jobType,
    payloadTemplate: row.payloadTemplate ?? null,
    jobOptions: row.jobOptions,
    enabled: row.enabled,
  };
}

function toRecord(row: Route): RouteRecord {
  return { id: row.id, origin: 'api', ...specOf(row), createdAt: row.createdAt, updatedAt: row.updatedAt };
}

function codeRecord(route: CompiledRoute): RouteRecord {
  return { id: route.id, origin: 'code', ...route.spec, createdAt: null, updatedAt: null };
}

function notFound(id: string): EventError {
  return new EventError('ROUTE_NOT_FOUND', `no route ${id}`);
}

function nameTaken(name: string): EventError {
  return new EventError('ROUTE_NAME_TAKEN', `a route named ${name} exists already`);
}

function readOnly(id: string): EventError {
  return new EventError(
    'ROUTE_READ_ONLY',
    `route ${id} is declared in code (@JobHandler on) and cannot be changed here`,
  );
}
