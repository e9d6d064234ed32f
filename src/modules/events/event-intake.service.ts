import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Batcher } from '../../common/batcher.js';
import { Clock } from '../../common/clock.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import { SpanKind, Tracing } from '../../common/tracing/tracing.js';
import { hasNul, NUL_REFUSED } from '../../common/validation/no-nul.pipe.js';
import type { Span } from '../../common/tracing/tracing.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { JobSummary } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import { readEventInput } from './event-input.js';
import type { EventInput } from './event-input.js';
import { assertEventName } from './event-name.js';
import { EventTypesService } from './event-types.service.js';
import { EventSubscribers } from './event-subscribers.service.js';
import { eventView, publishedEvent } from './event-view.js';
import { Event } from './event.entity.js';
import { EventError } from './event.error.js';
import { EventStore } from './event.store.js';
import type { NewEventRow } from './event.store.js';
import { RoutesService } from './routes.service.js';

/** Past this depth an event caused by a job's outcome is refused, so routes cannot loop forever. */
export const MAX_CAUSATION_DEPTH = 8;
/** The source of the events Junction emits itself. */
export const JUNCTION_SOURCE = 'junction';

/** How an event came to be, beside what its sender said. */
export interface EventOrigin {
  postedBy: string | null;
  causationDepth: number;
  causedByJob: string | null;
}

export interface Ingested {
  event: Event;
  /** The jobs this call started: none for a duplicate. */
  jobs: JobSummary[];
  /** True when the idempotency key had been used: the first event is returned and no job started. */
  duplicate: boolean;
}

/** An item of a batch that failed for a reason of Junction's, not its own: a 500, logged under `errorId`. */
export interface InternalItemError {
  code: 'INTERNAL';
  message: string;
  details: { errorId: string };
}

/** One item of a batch: what was stored, or why it was not. */
export type BatchItemResult =
  { ok: true; ingested: Ingested } | { ok: false; error: DomainError | InternalItemError };

/**
 * Event intake and routing. An event and the jobs its routes start commit in one transaction
 * (the job table is the outbox), so a crash leaves both or neither.
 */
@Injectable()
export class EventIntakeService {
  private readonly logger = new Logger('Events');
  private readonly intake = new Batcher<Pending, Settled>((group) => this.ingestGroup(group), {
    gather: true,
  });

  constructor(
    private readonly store: EventStore,
    private readonly jobs: JobsService,
    private readonly routes: RoutesService,
    private readonly types: EventTypesService,
    private readonly subscribers: EventSubscribers,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly tracing: Tracing,
  ) {}

  /**
   * Stores an event from outside and starts a job per matching route. Events that arrive while
   * another group is being written are written together, in one transaction.
   */
  ingest(input: EventInput, postedBy: string | null): Promise<Ingested> {
    if (!this.tracing.enabled) return this.ingestTraced(input, postedBy, null);
    // The intake span: the child of the request's (POST /events, an inbound webhook) or of an
    // AMQP consumer's, and the parent of every attempt of the jobs the event starts.
    const span = this.intakeSpan(input);
    return this.tracing.endWith(span, this.ingestTraced(input, postedBy, span));
  }

  private async ingestTraced(
    input: EventInput,
    postedBy: string | null,
    span: Span | null,
  ): Promise<Ingested> {
    const dataJson = await this.check(input);
    const settled = await this.intake.submit({
      input,
      dataJson,
      origin: { postedBy, causationDepth: 0, causedByJob: null },
      // Events written together in one transaction each keep their own trace.
      traceParent: span ? this.tracing.traceParent(span) : null,
    });
    if (!settled.ok) throw settled.error;
    span?.setAttribute('event.id', settled.ingested.event.id);
    return settled.ingested;
  }

  /**
   * Each item on its own: one refused item does not keep the others out. The items are written
   * together where they can be. An item that fails unexpectedly (a database error) is its own
   * INTERNAL result, since the others may be stored already and a retry of the whole batch would
   * store them twice; only when every item failed so (the database away) does the batch fail as a
   * whole, which the AMQP consumer relies on to put a message back.
   */
  async ingestBatch(items: unknown[], postedBy: string | null): Promise<BatchItemResult[]> {
    const settled = await Promise.all(
      items.map(async (item): Promise<BatchItemResult | { ok: false; unexpected: unknown }> => {
        try {
          return { ok: true, ingested: await this.ingest(await readEventInput(item), postedBy) };
        } catch (error) {
          return error instanceof DomainError ? { ok: false, error } : { ok: false, unexpected: error };
        }
      }),
    );
    const first = settled[0];
    if (first && 'unexpected' in first && settled.every((result) => 'unexpected' in result)) {
      throw first.unexpected;
    }
    return settled.map((result) => ('unexpected' in result ? this.internal(result.unexpected) : result));
  }

  private internal(error: unknown): BatchItemResult {
    const errorId = randomUUID();
    this.logger.error({ errorId, err: error }, `internal error ${errorId} in an item of a batch`);
    return { ok: false, error: { code: 'INTERNAL', message: 'internal error', details: { errorId } } };
  }

  /**
   * Stores events of Junction's own (source `junction`, caused by no event) in the caller's
   * transaction, such as `reservation.done`, written together. One that is refused (a declared
   * schema it does not match) is logged and the caller's work goes on: the event tells of it, it
   * is not it.
   */
  async emitOwn(
    manager: EntityManager,
    events: { name: string; data: Record<string, unknown> }[],
  ): Promise<void> {
    const accepted: Pending[] = [];
    for (const { name, data } of events) {
      const input = { name, source: JUNCTION_SOURCE, data };
      try {
        accepted.push({
          input,
          dataJson: await this.check(input),
          origin: { postedBy: null, causationDepth: 0, causedByJob: null },
          traceParent: null,
        });
      } catch (error) {
        if (!(error instanceof EventError)) throw error;
        this.logger.warn(`${name} was not stored: ${error.message}`);
      }
    }
    if (accepted.length > 0) await this.storeTraced(manager, accepted);
  }

  /**
   * Stores an event inside the caller's transaction (a job outcome's); refused past the depth
   * limit. Checks as intake does.
   */
  async emit(manager: EntityManager, input: EventInput, origin: EventOrigin): Promise<Ingested> {
    const dataJson = await this.check(input);
    if (origin.causationDepth > MAX_CAUSATION_DEPTH) {
      throw new EventError(
        'CAUSATION_TOO_DEEP',
        `${input.name} would be caused ${origin.causationDepth} events deep; the limit is ${MAX_CAUSATION_DEPTH}`,
      );
    }
    return (await this.storeTraced(manager, [{ input, dataJson, origin, traceParent: null }]))[0];
  }

  /**
   * Stores events a job brought in from outside (a poller's items) in the caller's transaction,
   * routed like any other; one that is refused refuses them all, so nothing is skipped silently.
   * An event whose idempotency key its source used before is a duplicate: stored once.
   */
  async emitAll(manager: EntityManager, inputs: EventInput[], origin: EventOrigin): Promise<Ingested[]> {
    const pending: Pending[] = [];
    for (const input of inputs)
      pending.push({ input, dataJson: await this.check(input), origin, traceParent: null });
    return this.storeTraced(manager, pending);
  }

  /**
   * Events emitted by Junction's own work (a job's outcome, a poller's items): each gets an intake
   * span, the child of the span active here (the job attempt's), and its jobs continue its trace.
   */
  private async storeTraced(manager: EntityManager, items: Pending[]): Promise<Ingested[]> {
    if (!this.tracing.enabled) return this.storeAll(manager, items);
    const spans = items.map((item) => {
      const span = this.intakeSpan(item.input);
      item.traceParent = this.tracing.traceParent(span);
      return span;
    });
    try {
      const ingested = await this.storeAll(manager, items);
      ingested.forEach((result, i) => spans[i].setAttribute('event.id', result.event.id));
      spans.forEach((span) => this.tracing.end(span));
      return ingested;
    } catch (error) {
      spans.forEach((span) => this.tracing.end(span, error));
      throw error;
    }
  }

  private intakeSpan(input: EventInput): Span {
    return this.tracing.startSpan('event.intake', SpanKind.INTERNAL, {
      'event.name': input.name,
      'event.source': input.source,
    })!;
  }

  /**
   * A group in one transaction; should that fail, each event alone, so one event's failure
   * reaches only its own caller.
   */
  private async ingestGroup(group: Pending[]): Promise<Settled[]> {
    if (group.length > 1) {
      try {
        const stored = await this.serializer.transaction((manager) => this.storeAll(manager, group));
        return stored.map((ingested) => ({ ok: true, ingested }));
      } catch {
        // Nothing to report here: each event is written again alone below, and the one that caused
        // this failure fails again and reports it to its own caller.
      }
    }
    const results: Settled[] = [];
    for (const item of group) {
      try {
        results.push({ ok: true, ingested: await this.ingestOne(item) });
      } catch (error) {
        results.push({ ok: false, error });
      }
    }
    return results;
  }

  private async ingestOne(item: Pending): Promise<Ingested> {
    try {
      return await this.serializer.transaction(async (manager) => (await this.storeAll(manager, [item]))[0]);
    } catch (error) {
      // Another process may have stored the same key between our look-up and our insert.
      const key = item.input.idempotencyKey;
      if (key === undefined) throw error;
      const existing = await this.store.existingAfterConflict(error, item.input.source, key);
      if (!existing) throw error;
      return { event: existing, jobs: [], duplicate: true };
    }
  }

  /**
   * Stores events and their jobs in the caller's transaction: one look-up of idempotency keys, one
   * INSERT of the events and one of the jobs (routes' and subscribers'), however many there are.
   */
  private async storeAll(manager: EntityManager, items: Pending[]): Promise<Ingested[]> {
    const keys = items.flatMap(({ input }) =>
      input.idempotencyKey === undefined
        ? []
        : [{ source: input.source, idempotencyKey: input.idempotencyKey }],
    );
    const known = new Map<string, Event>();
    for (const event of await this.store.findByKeys(manager, keys))
      known.set(keyOf(event.source, event.idempotencyKey!), event);
    const now = this.clock.now();
    const results: Ingested[] = [];
    const added: NewEventRow[] = [];
    for (const { input, dataJson, origin } of items) {
      const key = input.idempotencyKey === undefined ? null : keyOf(input.source, input.idempotencyKey);
      const existing = key === null ? undefined : known.get(key);
      if (existing) {
        results.push({ event: existing, jobs: [], duplicate: true });
        continue;
      }
      const event = newEvent(input, origin, now);
      if (key !== null) known.set(key, event);
      added.push({ event, dataJson });
      results.push({ event, jobs: [], duplicate: false });
    }
    if (added.length > 0) await this.store.insert(manager, added);
    const requests: EnqueueRequest[] = [];
    const owners: Ingested[] = [];
    // Each event's trace, which its jobs continue; none while tracing is off.
    const traces = this.tracing.enabled ? new Map(results.map((r, i) => [r, items[i].traceParent])) : null;
    const traced = (request: EnqueueRequest, owner: Ingested): EnqueueRequest => {
      const traceParent = traces?.get(owner);
      return traceParent ? { ...request, options: { ...request.options, traceParent } } : request;
    };
    for (const result of results) {
      if (result.duplicate) continue;
      for (const request of await this.routes.jobsFor(eventView(result.event))) {
        requests.push(traced(request, result));
        owners.push(result);
      }
    }
    const stored = new Map(results.filter((r) => !r.duplicate).map((r) => [r.event.id, r]));
    const published = added.map(({ event }) => publishedEvent(event));
    for (const request of await this.subscribers.collect(manager, published)) {
      const owner = stored.get(request.options?.eventId ?? '');
      if (!owner) throw new Error(`a subscriber's ${request.type} job names no event stored here`);
      requests.push(traced(request, owner));
      owners.push(owner);
    }
    if (requests.length > 0) {
      const jobs = await this.jobs.enqueueMany(requests, manager);
      jobs.forEach((job, i) => owners[i].jobs.push(job));
    }
    return results;
  }

  /** Name, text, size and schema: an event that fails any is refused and nothing is stored. Returns its data as JSON. */
  private async check(input: EventInput): Promise<string> {
    assertEventName(input.name);
    // Events from batches, webhooks and AMQP reach here unchecked by the HTTP pipe (NoNulPipe).
    if (hasNul(input.source)) throw new EventError('INVALID_EVENT', `source ${NUL_REFUSED}`);
    if (input.idempotencyKey !== undefined && hasNul(input.idempotencyKey))
      throw new EventError('INVALID_EVENT', `idempotencyKey ${NUL_REFUSED}`);
    const dataJson = JSON.stringify(input.data ?? {});
    const size = Buffer.byteLength(dataJson);
    const limit = this.config.events.maxDataBytes;
    if (size > limit) {
      throw new EventError(
        'EVENT_TOO_LARGE',
        `the data of this event is ${size} bytes; the limit is ${limit}`,
      );
    }
    const violations = await this.types.check(input.name, input.data ?? {});
    if (violations.length > 0) {
      throw new EventError(
        'SCHEMA_MISMATCH',
        `the data does not match the schema of ${input.name}: ${violations.length} violation(s)`,
        violations,
      );
    }
    return dataJson;
  }
}

interface Pending {
  input: EventInput;
  /** `input.data` as stored, serialized once by the size check. */
  dataJson: string;
  origin: EventOrigin;
  /** The `traceparent` of the event's intake span, which its jobs continue; null while tracing is off. */
  traceParent: string | null;
}

/** How one event of a group came out. */
type Settled = { ok: true; ingested: Ingested } | { ok: false; error: unknown };

function keyOf(source: string, idempotencyKey: string): string {
  return JSON.stringify([source, idempotencyKey]);
}

function newEvent(input: EventInput, origin: EventOrigin, now: Date): Event {
  const event = new Event();
  event.id = newId();
  event.name = input.name;
  event.source = input.source;
  event.data = input.data ?? {};
  event.idempotencyKey = input.idempotencyKey ?? null;
  event.occurredAt = input.occurredAt ?? now;
  event.receivedAt = now;
  event.postedBy = origin.postedBy;
  event.causationDepth = origin.causationDepth;
  event.causedByJob = origin.causedByJob;
  return event;
}
