import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { Batcher } from '../../common/batcher.js';
import { Clock } from '../../common/clock.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { newId } from '../../common/ids.js';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import { isUniqueViolation } from '../../database/db-errors.js';
import { rawSql, readTimestamp, sqlText } from '../../database/raw-sql.js';
import type { RawResult } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { JobSummary } from '../jobs/jobs.contract.js';
import { JobsService } from '../jobs/jobs.service.js';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import { readEventInput } from './event-input.js';
import type { EventInput } from './event-input.js';
import { assertEventName, compileEventPattern } from './event-name.js';
import { EventTypesService } from './event-types.service.js';
import { eventView } from './event-view.js';
import { Event } from './event.entity.js';
import { EventError } from './event.error.js';
import { RoutesService } from './routes.service.js';

/** Past this depth an event caused by a job's outcome is refused, so routes cannot loop forever. */
export const MAX_CAUSATION_DEPTH = 8;
export const REPLAY_JOB_TYPE = 'events.replay';
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

/** One item of a batch: what was stored, or why it was not. */
export type BatchItemResult = { ok: true; ingested: Ingested } | { ok: false; error: DomainError };

export interface EventFilter {
  /** A name pattern such as `order.*`. */
  name?: string;
  source?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
}

export interface ReplayRange {
  pattern: string;
  from: Date;
  to: Date;
}

/**
 * Event intake and routing. An event and the jobs its routes start commit in one transaction
 * (the job table is the outbox), so a crash leaves both or neither.
 */
@Injectable()
export class EventsService {
  private readonly logger = new Logger('Events');
  private readonly intake = new Batcher<Pending, Settled>((group) => this.ingestGroup(group), {
    gather: true,
  });

  constructor(
    private readonly jobs: JobsService,
    private readonly routes: RoutesService,
    private readonly types: EventTypesService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Stores an event from outside and starts a job per matching route. Events that arrive while
   * another group is being written are written together, in one transaction.
   */
  async ingest(input: EventInput, postedBy: string | null): Promise<Ingested> {
    const dataJson = await this.check(input);
    const settled = await this.intake.submit({
      input,
      dataJson,
      origin: { postedBy, causationDepth: 0, causedByJob: null },
    });
    if (!settled.ok) throw settled.error;
    return settled.ingested;
  }

  /**
   * Each item on its own: one refused item does not keep the others out. The items are written
   * together where they can be.
   */
  ingestBatch(items: unknown[], postedBy: string | null): Promise<BatchItemResult[]> {
    return Promise.all(
      items.map(async (item): Promise<BatchItemResult> => {
        try {
          return { ok: true, ingested: await this.ingest(await readEventInput(item), postedBy) };
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          return { ok: false, error };
        }
      }),
    );
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
        // Each item below meets the failure again, if it was its own, and reports it.
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
      // Another process stored the same key between our look-up and our insert.
      const key = item.input.idempotencyKey;
      if (key === undefined || !isUniqueViolation(error)) throw error;
      const existing = await this.dataSource.manager.findOneBy(Event, {
        source: item.input.source,
        idempotencyKey: key,
      });
      if (!existing) throw error;
      return { event: existing, jobs: [], duplicate: true };
    }
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
        });
      } catch (error) {
        if (!(error instanceof EventError)) throw error;
        this.logger.warn(`${name} was not stored: ${error.message}`);
      }
    }
    if (accepted.length > 0) await this.storeAll(manager, accepted);
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
    return (await this.storeAll(manager, [{ input, dataJson, origin }]))[0];
  }

  /** The causation depth of an event, or null when it is gone. */
  async depthOf(manager: EntityManager, eventId: string): Promise<number | null> {
    const { rows } = await rawSql<{ causation_depth: number }>(
      manager,
      `SELECT causation_depth FROM event WHERE id = ?`,
      [eventId],
    );
    return rows.length === 0 ? null : Number(rows[0].causation_depth);
  }

  async get(id: string): Promise<{ event: Event; jobs: JobSummary[] }> {
    const event = await this.dataSource.manager.findOneBy(Event, { id });
    if (!event) throw notFound(id);
    return { event, jobs: await this.jobs.ofEvents([id]) };
  }

  async list(filter: EventFilter, page: PageQueryDto): Promise<Page<Event>> {
    const query = this.dataSource.manager.createQueryBuilder(Event, 'event');
    if (filter.source !== undefined) query.andWhere('event.source = :source', { source: filter.source });
    if (filter.from) query.andWhere('event.receivedAt >= :from', { from: filter.from });
    if (filter.to) query.andWhere('event.receivedAt < :to', { to: filter.to });
    if (filter.name !== undefined) {
      const pattern = this.pattern(filter.name, 'name');
      if (filter.name.includes('*')) {
        // A glob: narrow by its literal head (wildcards are whole segments) in SQL, match in full here.
        const head = filter.name.slice(0, filter.name.indexOf('*'));
        if (head) query.andWhere('event.name LIKE :head', { head: `${head}%` });
        const found = await paginate(query, page);
        return {
          items: found.items.filter((event) => pattern.test(event.name)),
          nextCursor: found.nextCursor,
        };
      }
      query.andWhere('event.name = :name', { name: filter.name });
    }
    return paginate(query, page);
  }

  /** Routes the event again with today's routes: new jobs, linked to it. */
  async replay(id: string): Promise<{ event: Event; jobs: JobSummary[] }> {
    return this.serializer.transaction(async (manager) => {
      const event = await manager.findOneBy(Event, { id });
      if (!event) throw notFound(id);
      const jobs = await this.jobs.enqueueMany(await this.routes.jobsFor(eventView(event)), manager);
      return { event, jobs };
    });
  }

  /** Starts a job that replays every event of the pattern received in [from, to). */
  async replayMany(range: ReplayRange): Promise<JobSummary> {
    this.pattern(range.pattern, 'pattern');
    if (!(range.from < range.to)) {
      throw new EventError('INVALID_REPLAY', 'from must be before to', [
        { field: 'to', problems: ['must be after from'] },
      ]);
    }
    return this.jobs.enqueue(REPLAY_JOB_TYPE, {
      pattern: range.pattern,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
    });
  }

  /**
   * One page of a replay: the events of the pattern received in [from, to) after `after`, each
   * routed again. Jobs are keyed by `replayKey`, so a replay that runs twice starts each job once.
   */
  async replayPage(
    range: ReplayRange,
    after: { receivedAt: Date; id: string } | null,
    limit: number,
    replayKey: string,
  ): Promise<{
    scanned: number;
    replayed: number;
    jobs: number;
    last: { receivedAt: Date; id: string } | null;
  }> {
    const pattern = this.pattern(range.pattern, 'pattern');
    return this.serializer.transaction(async (manager) => {
      const query = manager
        .createQueryBuilder(Event, 'event')
        .where('event.receivedAt >= :from AND event.receivedAt < :to', { from: range.from, to: range.to })
        .orderBy('event.receivedAt', 'ASC')
        .addOrderBy('event.id', 'ASC')
        .take(limit);
      if (after) {
        query.andWhere('(event.receivedAt > :at OR (event.receivedAt = :at AND event.id > :id))', {
          at: after.receivedAt,
          id: after.id,
        });
      }
      const events = await query.getMany();
      const matching = events.filter((event) => pattern.test(event.name));
      const requests = [];
      for (const event of matching) {
        requests.push(...(await this.routes.jobsFor(eventView(event), `${replayKey}:${event.id}`)));
      }
      await this.jobs.enqueueMany(requests, manager);
      const lastEvent = events.at(-1);
      return {
        scanned: events.length,
        replayed: matching.length,
        jobs: requests.length,
        last: lastEvent ? { receivedAt: lastEvent.receivedAt, id: lastEvent.id } : null,
      };
    });
  }

  /** Events received in [from, to), for a replay's progress. */
  async countBetween(from: Date, to: Date): Promise<number> {
    return this.dataSource.manager
      .createQueryBuilder(Event, 'event')
      .where('event.receivedAt >= :from AND event.receivedAt < :to', { from, to })
      .getCount();
  }

  /**
   * Retention: deletes finished jobs that finished before `cutoff`, then events received before it
   * whose jobs have all finished. An event with an unfinished job stays, whatever its age.
   */
  async purgeBefore(cutoff: Date): Promise<{ events: number; jobs: number }> {
    const jobs = await this.jobs.purge(cutoff);
    let events = 0;
    let after: { at: Date; id: string } | null = null;
    for (;;) {
      const page: RawResult<{ id: string; received_at: unknown }> = await rawSql(
        this.dataSource.manager,
        `SELECT id, received_at FROM event
         WHERE received_at < ?${after ? ' AND (received_at > ? OR (received_at = ? AND id > ?))' : ''}
         ORDER BY received_at, id LIMIT ${PURGE_PAGE}`,
        after ? [cutoff, after.at, after.at, after.id] : [cutoff],
      );
      if (page.rows.length === 0) break;
      const ids = page.rows.map((row) => String(row.id));
      const busy = await this.jobs.eventsWithUnfinishedJobs(ids);
      const doomed = ids.filter((id) => !busy.has(id));
      if (doomed.length > 0) {
        events += await this.serializer.transaction(async (manager) => {
          const { affected } = await rawSql(
            manager,
            `DELETE FROM event WHERE id IN (${doomed.map(() => '?').join(', ')})`,
            doomed,
          );
          return affected;
        });
      }
      const last = page.rows[page.rows.length - 1];
      after = { at: readTimestamp(last.received_at)!, id: String(last.id) };
    }
    return { events, jobs };
  }

  /**
   * Stores events and their jobs in the caller's transaction: one look-up of idempotency keys, one
   * INSERT of the events and one of the jobs, however many there are.
   */
  private async storeAll(manager: EntityManager, items: Pending[]): Promise<Ingested[]> {
    const keyed = items.filter((item) => item.input.idempotencyKey !== undefined);
    const known = new Map<string, Event>();
    for (let i = 0; i < keyed.length; i += INSERT_CHUNK) {
      const chunk = keyed.slice(i, i + INSERT_CHUNK);
      const { rows } = await rawSql(
        manager,
        `SELECT * FROM event WHERE ${chunk.map(() => '(source = ? AND idempotency_key = ?)').join(' OR ')}`,
        chunk.flatMap((item) => [item.input.source, item.input.idempotencyKey]),
      );
      for (const event of rows.map(eventFromRow))
        known.set(keyOf(event.source, event.idempotencyKey!), event);
    }
    const now = this.clock.now();
    const results: Ingested[] = [];
    const added: { event: Event; dataJson: string }[] = [];
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
    for (let i = 0; i < added.length; i += INSERT_CHUNK)
      await insertEvents(manager, added.slice(i, i + INSERT_CHUNK));
    const requests: EnqueueRequest[] = [];
    const owners: Ingested[] = [];
    for (const result of results) {
      if (result.duplicate) continue;
      for (const request of await this.routes.jobsFor(eventView(result.event))) {
        requests.push(request);
        owners.push(result);
      }
    }
    if (requests.length > 0) {
      const jobs = await this.jobs.enqueueMany(requests, manager);
      jobs.forEach((job, i) => owners[i].jobs.push(job));
    }
    return results;
  }

  /** Name, size and schema: an event that fails any is refused and nothing is stored. Returns its data as JSON. */
  private async check(input: EventInput): Promise<string> {
    assertEventName(input.name);
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

  private pattern(pattern: string, field: string): RegExp {
    const compiled = compileEventPattern(pattern);
    if (!compiled) {
      throw new EventError('INVALID_EVENT_PATTERN', `"${pattern}" is not an event pattern`, [
        { field, problems: ['dot-separated names, * for one segment, ** for one or more'] },
      ]);
    }
    return compiled;
  }
}

const PURGE_PAGE = 500;
/** Rows per statement: 10 parameters each stays under SQLite's and PostgreSQL's limits. */
const INSERT_CHUNK = 500;

interface Pending {
  input: EventInput;
  /** `input.data` as stored, serialized once by the size check. */
  dataJson: string;
  origin: EventOrigin;
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

async function insertEvents(
  manager: EntityManager,
  events: { event: Event; dataJson: string }[],
): Promise<void> {
  await rawSql(
    manager,
    `INSERT INTO event (id, name, source, data, idempotency_key, occurred_at, received_at, posted_by,
       causation_depth, caused_by_job)
     VALUES ${events.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    events.flatMap(({ event, dataJson }) => [
      event.id,
      event.name,
      event.source,
      dataJson,
      event.idempotencyKey,
      event.occurredAt,
      event.receivedAt,
      event.postedBy,
      event.causationDepth,
      event.causedByJob,
    ]),
  );
}

function nullableText(value: unknown): string | null {
  return value === null || value === undefined ? null : sqlText(value);
}

/** An event row read by raw SQL, converted as TypeORM would. */
function eventFromRow(row: Record<string, unknown>): Event {
  const event = new Event();
  event.id = String(row.id);
  event.name = String(row.name);
  event.source = String(row.source);
  event.data = JSON.parse(sqlText(row.data));
  event.idempotencyKey = nullableText(row.idempotency_key);
  event.occurredAt = readTimestamp(row.occurred_at)!;
  event.receivedAt = readTimestamp(row.received_at)!;
  event.postedBy = nullableText(row.posted_by);
  event.causationDepth = Number(row.causation_depth);
  event.causedByJob = nullableText(row.caused_by_job);
  return event;
}

function notFound(id: string): EventError {
  return new EventError('EVENT_NOT_FOUND', `no event ${id}`);
}
