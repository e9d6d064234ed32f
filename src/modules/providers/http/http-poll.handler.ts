import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { IsString, IsUUID, Matches } from 'class-validator';
import { Clock } from '../../../common/clock.js';
import { DomainError } from '../../../common/errors/domain-error.js';
import { renderTemplate, valueAt } from '../../../common/template.js';
import { WriteSerializer } from '../../../database/write-serializer.js';
import { EventIntakeService } from '../../events/event-intake.service.js';
import type { EventInput } from '../../events/events.contract.js';
import { JobHandler } from '../../jobs/jobs.contract.js';
import type { JobContext } from '../../jobs/jobs.contract.js';
import { ConnectionStore } from '../connection.store.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import { PollCursorStore } from '../poll-cursor.store.js';
import {
  authHeaders,
  HTTP_POLL_JOB_TYPE,
  HTTP_PROVIDER_KEY,
  joinUrl,
  renderHeaders,
  renderPath,
} from './http.provider.js';
import type { HttpConfig, HttpPoller } from './http.provider.js';
import { compareCursors, later, queryOf, tokenOf } from './paging.js';
import { stableJson } from '../../../common/stable-json.js';
import { ProviderError } from './provider-error.js';

/** One poll follows the partner's next-page tokens this far; the next poll goes on from its cursor. */
const MAX_PAGES_PER_POLL = 100;
/** An idempotency key's event name and item id, before they are hashed to fit the key. */
const MAX_KEY_PREFIX = 250;

export class HttpPollPayload {
  @IsUUID()
  connectionId!: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, {
    message: 'poller must be the name of one of the connection’s pollers',
  })
  poller!: string;
}

/**
 * What a poll records: pages read, items seen, events stored (new or changed items), items skipped
 * (no event can carry them), the cursor after.
 */
export interface HttpPollResult {
  pages: number;
  items: number;
  emitted: number;
  skipped: number;
  cursor: string | null;
}

/**
 * What one page did, stored as the job's step `page:<n>`: `cursor` is the largest cursor read so
 * far, `settled` the largest below it (see `PageCursors`); `nextPage` is null after the last page.
 */
interface PollPage extends PageCursors {
  items: number;
  emitted: number;
  skipped: number;
  nextPage: string | null;
}

/** A page's step as stored: steps stored before `skipped` and `settled` were recorded have neither. */
type StoredPage = Omit<PollPage, 'skipped' | 'settled'> & Partial<Pick<PollPage, 'skipped' | 'settled'>>;

/**
 * The cursors read so far. Items whose cursor equals the largest may go on on the next page, so
 * while there is one the stored cursor is `settled`, the largest value below it: a poll that stops
 * between pages (dead, or at its page limit) cannot then skip them at a partner that answers only
 * what comes after the cursor. After the last page it is `cursor`.
 */
interface PageCursors {
  cursor: string | null;
  settled: string | null;
}

/** The event intake's refusals of one item's content, which no retry would change. */
const ITEM_REFUSALS = new Set(['EVENT_TOO_LARGE', 'SCHEMA_MISMATCH']);

/**
 * `http.poll`: GETs one of an `http` connection's pollers, following the partner's pages, and
 * turns each item into an event (source `connection:<id>`). An item's idempotency key is its event
 * name, its id and a hash of its content, so an unchanged item polled again (by the same poller,
 * or by it renamed) is stored once and a changed one again; an item no event can carry (too large,
 * or not its event type's schema) is skipped with a line in the job's log. The cursor is stored in
 * the transaction that stores the page's events, so it never runs ahead of them, and it only moves
 * forward, whatever other poll of the poller runs at the same time. Each page is a step of the job:
 * a poll put back by the connection's rate budget, or retried, goes on from the first page it has
 * not finished, with the query it started with, instead of reading its pages again from the first
 * (which, for more pages than one budget window allows, would never end). The connection is read
 * again before each page, so a pause stops the poll there. Its schedule comes and goes with the
 * connection.
 */
@Injectable()
export class HttpPollHandler {
  constructor(
    private readonly calls: PartnerCallsService,
    private readonly connections: ConnectionStore,
    private readonly cursors: PollCursorStore,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  @JobHandler(HTTP_POLL_JOB_TYPE, {
    queue: 'partners',
    maxAttempts: 3,
    backoff: { baseMs: 5000, factor: 2, maxMs: 60_000 },
    timeoutMs: 600_000,
    payload: HttpPollPayload,
  })
  async poll(ctx: JobContext<HttpPollPayload>): Promise<HttpPollResult | { skipped: string }> {
    const { connectionId, poller: name } = ctx.payload;
    const gone = { skipped: `connection ${connectionId} is gone` };
    // Deleted (with its schedules) after this job was queued.
    let live = await this.current(connectionId);
    if (!live) return gone;
    const { connection, opened } = live;
    if (connection.provider !== HTTP_PROVIDER_KEY)
      throw new ProviderError('PERMANENT', `connection ${connectionId} is not an http connection`);
    const config = opened.config as unknown as HttpConfig;
    const poller: HttpPoller | undefined = config.pollers?.[name];
    if (!poller) throw new ProviderError('PERMANENT', `connection ${connection.name} has no poller ${name}`);

    // The cursor the poll started from: a re-run asks for the pages left with the same query.
    const since = await ctx.step('cursor', () => this.cursors.find(connection.id, name));
    const scope = { cursor: since };
    const query = queryOf(poller.query === undefined ? {} : renderTemplate(poller.query, scope));
    const what = `poller ${name}`;
    const headers: Record<string, string> = {
      ...config.headers,
      ...renderHeaders(poller.headers ?? {}, scope, what),
    };
    // Before the first poll the cursor is empty, as it is in the query.
    const url = joinUrl(config.baseUrl, renderPath(poller.path, scope, what, true));
    const source = `connection:${connection.id}`;
    const readPage = async (
      before: PageCursors,
      pageToken: string | null,
      { connection, opened }: Live,
    ): Promise<PollPage> => {
      const response = await this.calls.request(connection, opened, ctx, {
        method: 'GET',
        url,
        query: pageToken === null ? query : { ...query, [poller.nextPage!.param]: pageToken },
        headers: { ...headers, ...authHeaders(opened.credentials) },
        timeoutMs: config.timeoutMs,
      });
      const listed = poller.items === '' ? response.body : valueAt(response.body, poller.items);
      // An empty list sent as null (Go's encoding/json writes an empty slice so) is an empty list.
      const items: unknown = listed === null ? [] : listed;
      if (!Array.isArray(items)) {
        throw new ProviderError(
          'PERMANENT',
          `the answer to poller ${name} has no list at ${poller.items === '' ? 'its top' : poller.items}`,
        );
      }
      const inputs = items.map((item: unknown) => eventOf(item, name, poller, source));
      const after = items.reduce<PageCursors>(
        (read, item) => withCursor(read, cursorOf(item, poller)),
        before,
      );
      const nextPage = poller.nextPage ? tokenOf(valueAt(response.body, poller.nextPage.from)) : null;
      const stored = nextPage === null ? after.cursor : after.settled;
      const { emitted, skipped } = await this.serializer.transaction(async (manager) => {
        const outcome = await this.emit(manager, inputs, ctx, name);
        if (stored !== null && stored !== since) {
          await this.cursors.advance(manager, connection.id, name, stored, this.clock.now(), isLaterCursor);
        }
        return outcome;
      });
      return { items: items.length, emitted, skipped, ...after, nextPage };
    };
    const result: HttpPollResult = { pages: 0, items: 0, emitted: 0, skipped: 0, cursor: since };
    let read: PageCursors = { cursor: since, settled: since };
    let pageToken: string | null = null;
    // The tokens this poll has followed: one given again would read the same pages again, for ever.
    const followed = new Set<string>();
    try {
      do {
        const page: StoredPage = await ctx.step(`page:${result.pages + 1}`, async () => {
          // The connection as it is now: a pause, a refusal or new credentials apply from the next page.
          const now = live ?? (await this.current(connectionId));
          live = null;
          if (!now) throw new ConnectionGone();
          return readPage(read, pageToken, now);
        });
        result.pages++;
        result.items += page.items;
        result.emitted += page.emitted;
        result.skipped += page.skipped ?? 0;
        read = { cursor: page.cursor, settled: page.settled ?? page.cursor };
        result.cursor = page.nextPage === null ? read.cursor : read.settled;
        pageToken = page.nextPage;
        if (pageToken !== null && followed.has(pageToken)) {
          throw new ProviderError(
            'PERMANENT',
            `the partner gave poller ${name} a next-page token it had already followed, so the poll stops rather than read the same pages again; is "${poller.nextPage!.param}" the query parameter the partner reads it from?`,
          );
        }
        if (pageToken !== null) followed.add(pageToken);
      } while (pageToken !== null && result.pages < MAX_PAGES_PER_POLL);
    } catch (error) {
      if (error instanceof ConnectionGone) return gone;
      throw error;
    }
    return result;
  }

  /** The connection as it is now, opened, if it may be called (else `usable` says why); null once deleted. */
  private async current(connectionId: string): Promise<Live | null> {
    if (!(await this.connections.find(connectionId))) return null;
    return this.calls.usable(connectionId);
  }

  /**
   * Stores a page's events. An item the event intake refuses for its content (too large, not its
   * type's schema) would be refused on every retry and every later poll, holding the poller at
   * that page for ever: it is left out instead, with a line in the job's log.
   */
  private async emit(
    manager: EntityManager,
    items: PollItem[],
    ctx: JobContext<HttpPollPayload>,
    poller: string,
  ): Promise<{ emitted: number; skipped: number }> {
    const origin = { postedBy: null, causationDepth: 0, causedByJob: ctx.jobId };
    const store = async (inputs: EventInput[]) =>
      (await this.events.emitAll(manager, inputs, origin)).filter((ingested) => !ingested.duplicate).length;
    try {
      return { emitted: await store(items.map(({ input }) => input)), skipped: 0 };
    } catch (error) {
      if (!refusesItem(error)) throw error;
    }
    // The intake checks every event before it stores any, so nothing of the page is stored yet.
    let emitted = 0;
    let skipped = 0;
    for (const { id, input } of items) {
      try {
        emitted += await store([input]);
      } catch (error) {
        if (!refusesItem(error)) throw error;
        skipped++;
        await ctx.log(`poller ${poller} skipped item ${id}: ${error.code}: ${error.message}`);
      }
    }
    return { emitted, skipped };
  }
}

/** The connection of a poll, opened for its calls. */
type Live = Awaited<ReturnType<PartnerCallsService['usable']>>;

/** An item of a page as its event, with the item's id for the log. */
interface PollItem {
  id: string;
  input: EventInput;
}

/** Thrown inside a page's step when the connection was deleted during the poll: nothing is left to do. */
class ConnectionGone extends Error {}

function refusesItem(error: unknown): error is DomainError {
  return error instanceof DomainError && ITEM_REFUSALS.has(error.code);
}

/** The cursors after one more item's cursor value. */
function withCursor(read: PageCursors, value: string | null): PageCursors {
  if (value === null) return read;
  if (read.cursor === null) return { cursor: value, settled: read.settled };
  const order = compareCursors(value, read.cursor);
  if (order > 0) return { cursor: value, settled: later(read.settled, read.cursor) };
  if (order < 0) return { cursor: read.cursor, settled: later(read.settled, value) };
  return read;
}

function isLaterCursor(cursor: string, stored: string): boolean {
  return compareCursors(cursor, stored) > 0;
}

/**
 * An item as an event; its key changes when its content does, and only then. The key names the
 * event, not the poller, so renaming a poller does not make its items new.
 */
function eventOf(item: unknown, poller: string, config: HttpPoller, source: string): PollItem {
  const id = valueAt(item, config.id);
  if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
    throw new ProviderError('PERMANENT', `an item of poller ${poller} has no id at ${config.id}`);
  }
  const idText = String(id);
  const named = `${config.event}:${idText}`;
  // The key column holds 300 characters: a long event name and id are hashed.
  const prefix = named.length <= MAX_KEY_PREFIX ? named : sha256(named);
  return {
    id: idText.length <= 150 ? idText : `${idText.slice(0, 150)}…`,
    input: {
      name: config.event,
      source,
      idempotencyKey: `${prefix}:${sha256(stableJson(item)).slice(0, 32)}`,
      data: item,
    },
  };
}

function cursorOf(item: unknown, poller: HttpPoller): string | null {
  if (poller.cursor === undefined) return null;
  const value = valueAt(item, poller.cursor);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
