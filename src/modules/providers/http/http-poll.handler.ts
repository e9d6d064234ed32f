import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsString, IsUUID, Matches } from 'class-validator';
import { Clock } from '../../../common/clock.js';
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
import { later, queryOf, tokenOf } from './paging.js';
import { stableJson } from '../../../common/stable-json.js';
import { ProviderError } from './provider-error.js';

/** One poll follows the partner's next-page tokens this far; the next poll goes on from its cursor. */
const MAX_PAGES_PER_POLL = 100;

export class HttpPollPayload {
  @IsUUID()
  connectionId!: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, {
    message: 'poller must be the name of one of the connection’s pollers',
  })
  poller!: string;
}

/** What a poll records: pages read, items seen, events stored (new or changed items), the cursor after. */
export interface HttpPollResult {
  pages: number;
  items: number;
  emitted: number;
  cursor: string | null;
}

/** What one page did, stored as the job's step `page:<n>`; `nextPage` is null after the last page. */
interface PollPage {
  items: number;
  emitted: number;
  cursor: string | null;
  nextPage: string | null;
}

/**
 * `http.poll`: GETs one of an `http` connection's pollers, following the partner's pages, and
 * turns each item into an event (source `connection:<id>`). An item's idempotency key is its id and
 * a hash of its content, so an unchanged item polled again is stored once and a changed one again.
 * The cursor (the largest `cursor` field read) is stored in the transaction that stores the page's
 * events, so it never runs ahead of them. Each page is a step of the job: a poll put back by the
 * connection's rate budget, or retried, goes on from the first page it has not finished, with the
 * query it started with, instead of reading its pages again from the first (which, for more pages
 * than one budget window allows, would never end). Its schedule comes and goes with the connection.
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
    // Deleted (with its schedules) after this job was queued.
    if (!(await this.connections.find(connectionId)))
      return { skipped: `connection ${connectionId} is gone` };
    const { connection, opened } = await this.calls.usable(connectionId);
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
      ...authHeaders(opened.credentials),
    };
    // Before the first poll the cursor is empty, as it is in the query.
    const url = joinUrl(config.baseUrl, renderPath(poller.path, scope, what, true));
    const source = `connection:${connection.id}`;
    const readPage = async (cursor: string | null, pageToken: string | null): Promise<PollPage> => {
      const response = await this.calls.request(connection, opened, ctx, {
        method: 'GET',
        url,
        query: pageToken === null ? query : { ...query, [poller.nextPage!.param]: pageToken },
        headers,
        timeoutMs: config.timeoutMs,
      });
      const items = poller.items === '' ? response.body : valueAt(response.body, poller.items);
      if (!Array.isArray(items)) {
        throw new ProviderError(
          'PERMANENT',
          `the answer to poller ${name} has no list at ${poller.items === '' ? 'its top' : poller.items}`,
        );
      }
      const inputs = items.map((item: unknown) => eventOf(item, name, poller, source));
      const next = items.reduce<string | null>((max, item) => later(max, cursorOf(item, poller)), cursor);
      const emitted = await this.serializer.transaction(async (manager) => {
        const stored = await this.events.emitAll(manager, inputs, {
          postedBy: null,
          causationDepth: 0,
          causedByJob: ctx.jobId,
        });
        if (next !== null && next !== cursor)
          await this.cursors.save(manager, connection.id, name, next, this.clock.now());
        return stored.filter((ingested) => !ingested.duplicate).length;
      });
      return {
        items: items.length,
        emitted,
        cursor: next,
        nextPage: poller.nextPage ? tokenOf(valueAt(response.body, poller.nextPage.from)) : null,
      };
    };
    const result: HttpPollResult = { pages: 0, items: 0, emitted: 0, cursor: since };
    let pageToken: string | null = null;
    do {
      const page = await ctx.step(`page:${result.pages + 1}`, () => readPage(result.cursor, pageToken));
      result.pages++;
      result.items += page.items;
      result.emitted += page.emitted;
      result.cursor = page.cursor;
      pageToken = page.nextPage;
    } while (pageToken !== null && result.pages < MAX_PAGES_PER_POLL);
    return result;
  }
}

/** An item as an event; its key changes when its content does, and only then. */
function eventOf(item: unknown, poller: string, config: HttpPoller, source: string): EventInput {
  const id = valueAt(item, config.id);
  if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
    throw new ProviderError('PERMANENT', `an item of poller ${poller} has no id at ${config.id}`);
  }
  const idText = String(id).length <= 150 ? String(id) : sha256(String(id));
  return {
    name: config.event,
    source,
    idempotencyKey: `${poller}:${idText}:${sha256(stableJson(item)).slice(0, 32)}`,
    data: item,
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
