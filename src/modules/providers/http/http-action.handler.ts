import { Injectable } from '@nestjs/common';
import { IsDefined, IsString, IsUUID, isUUID, Matches } from 'class-validator';
import { renderTemplate } from '../../../common/template.js';
import { JobHandler, JobPayloadCheck } from '../../jobs/jobs.contract.js';
import type { JobContext, JobPayloadProblem } from '../../jobs/jobs.contract.js';
import { PartnerCallsService } from '../partner-calls.service.js';
import { queryOf } from './paging.js';
import { ProviderError } from './provider-error.js';
import { authHeaders, HTTP_PROVIDER_KEY, joinUrl, renderHeaders, renderPath } from './http.provider.js';
import type { HttpAction, HttpConfig } from './http.provider.js';

export const HTTP_ACTION_JOB_TYPE = 'http.action';
/** A partner's answer kept as the job's result is cut to this many characters of JSON. */
const MAX_RESULT_BODY_CHARS = 16_384;
/**
 * An answer of at most this many bytes is under MAX_RESULT_BODY_CHARS as JSON, so it need not be
 * serialised to be measured: JSON read and written again grows at most 5.25 times (`1e20` is
 * written `100000000000000000000`), and text at most 6 times and its quotes (`\u0001`).
 */
const SURELY_SMALL_BYTES = Math.floor((MAX_RESULT_BODY_CHARS - 2) / 6);

export class HttpActionPayload {
  @IsUUID()
  connectionId!: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, {
    message: 'action must be the name of one of the connection’s actions',
  })
  action!: string;

  @IsDefined()
  input!: unknown;
}

/** What the job records: the partner's status and its answer, cut to a size a job result may hold. */
export interface HttpActionResult {
  status: number;
  body: unknown;
}

/**
 * `http.action`: sends one of an `http` connection's configured actions, its templates filled
 * from the payload's `input`. A route connects any event to a partner this way, with no code.
 * The idempotency header carries the job's key (its id when it has none), the same on every
 * retry of the job, so a partner that honours it creates nothing twice.
 */
@Injectable()
export class HttpActionHandler {
  constructor(private readonly calls: PartnerCallsService) {}

  /**
   * Refuses, before any job runs, a payload naming a connection that does not exist, one that is
   * not an http connection, or an action its config lacks. The job checks again when it runs,
   * since the connection may change after a route or schedule was saved. Only operators and
   * admins enqueue jobs and save routes and schedules, and they see every connection, so there
   * is no caller whose view to narrow it to. A paused connection passes: it may be resumed.
   */
  @JobPayloadCheck(HTTP_ACTION_JOB_TYPE)
  async checkPayload(payload: unknown): Promise<JobPayloadProblem[]> {
    const { connectionId, action } = (payload ?? {}) as Partial<Record<'connectionId' | 'action', unknown>>;
    // A route's template leaves out what comes from the event; what is absent is not known yet.
    if (typeof connectionId !== 'string') return [];
    const connection = isUUID(connectionId) ? await this.calls.find(connectionId) : null;
    if (!connection) return [{ path: 'connectionId', message: `no connection has the id ${connectionId}` }];
    if (connection.provider !== HTTP_PROVIDER_KEY) {
      return [
        {
          path: 'connectionId',
          message: `connection ${connection.name} is a ${connection.provider} connection, not an ${HTTP_PROVIDER_KEY} one`,
        },
      ];
    }
    const configured = (connection.config as unknown as HttpConfig).actions ?? {};
    if (typeof action !== 'string' || Object.hasOwn(configured, action)) return [];
    const actions = Object.keys(configured).sort();
    const has = actions.length > 0 ? `it has: ${actions.join(', ')}` : 'it has none';
    return [{ path: 'action', message: `connection ${connection.name} has no action "${action}"; ${has}` }];
  }

  @JobHandler(HTTP_ACTION_JOB_TYPE, {
    queue: 'partners',
    maxAttempts: 8,
    backoff: { baseMs: 1000, factor: 2, maxMs: 300_000 },
    payload: HttpActionPayload,
  })
  async send(ctx: JobContext<HttpActionPayload>): Promise<HttpActionResult> {
    const { connectionId, action: name, input } = readPayload(ctx.payload);
    const { connection, opened } = await this.calls.usable(connectionId);
    if (connection.provider !== HTTP_PROVIDER_KEY)
      throw new ProviderError('PERMANENT', `connection ${connectionId} is not an http connection`);
    const config = opened.config as unknown as HttpConfig;
    const action: HttpAction | undefined = config.actions?.[name];
    if (!action) throw new ProviderError('PERMANENT', `connection ${connection.name} has no action ${name}`);
    const scope = { input: input ?? null };
    const what = `action ${name}`;
    const headers: Record<string, string> = {
      ...config.headers,
      ...renderHeaders(action.headers ?? {}, scope, what),
      ...authHeaders(opened.credentials),
    };
    if (action.idempotencyHeader) headers[action.idempotencyHeader] = ctx.idempotencyKey ?? ctx.jobId;
    const response = await this.calls.request(connection, opened, ctx, {
      method: action.method,
      url: joinUrl(config.baseUrl, renderPath(action.path, scope, what)),
      query: action.query ? queryOf(renderTemplate(action.query, scope)) : undefined,
      headers,
      body: action.body === undefined ? undefined : (renderTemplate(action.body, scope) as object),
      timeoutMs: config.timeoutMs,
      // The body becomes the job's result, which anyone who may read jobs sees.
      maskBody: true,
    });
    return {
      status: response.status,
      body: response.size <= SURELY_SMALL_BYTES ? response.body : capped(response.body),
    };
  }
}

function readPayload(payload: unknown): HttpActionPayload {
  const { connectionId, action, input } = (payload ?? {}) as Partial<HttpActionPayload>;
  if (typeof connectionId !== 'string' || typeof action !== 'string') {
    throw new ProviderError('PERMANENT', 'an http.action payload needs connectionId and action');
  }
  return { connectionId, action, input };
}

function capped(body: unknown): unknown {
  const json = JSON.stringify(body ?? null);
  return json.length <= MAX_RESULT_BODY_CHARS
    ? body
    : { truncated: true, excerpt: json.slice(0, MAX_RESULT_BODY_CHARS) };
}
