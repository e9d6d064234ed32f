import { EventEmitter } from 'node:events';
import { Injectable, Logger, Optional } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { Clock } from '../../../common/clock.js';
import { SpanKind, Tracing } from '../../../common/tracing/tracing.js';
import type { Span } from '../../../common/tracing/tracing.js';
import { classifyNetworkError, classifyStatus, errorCodes } from './classify.js';
import type { ResponseHeaders } from './classify.js';
import { maskSecrets, maskUrl } from './mask-url.js';
import { ProviderError, bodyExcerpt, isJsonContentType } from './provider-error.js';

/** HTTP's methods partners use, and WebDAV's (RFC 4918) that storage needs. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'PROPFIND' | 'MKCOL';
export type QueryValue = string | number | boolean | null | undefined;

export interface PartnerRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** Appended to the URL's query; `null` and `undefined` values are left out. */
  query?: Record<string, QueryValue>;
  /** A string or bytes are sent as they are; anything else as JSON. */
  body?: string | Uint8Array | object;
  /** The job's signal: when it aborts, the call stops and its reason is thrown as it is. */
  signal?: AbortSignal;
  /** For the whole call, body included; default 10 s. */
  timeoutMs?: number;
  /** Default 1 MiB. */
  maxResponseBytes?: number;
  /** The body is answered as the bytes received (a Buffer, empty when there are none), for files. */
  binary?: boolean;
  /** Strings (tokens, keys) that must never appear in the log line or an error message. */
  secrets?: readonly string[];
  /**
   * Masks the secrets in the answered body too, for a body kept where people read it (a job's
   * result), in case the partner echoes the credential back. Not for a body whose secrets are
   * wanted, such as a token endpoint's answer.
   */
  maskBody?: boolean;
  /** Receives the call's one log line, such as the job context's `log`; else the app log gets it. */
  log?: (line: string) => void | Promise<void>;
  /**
   * Connects through this instead of the client's own pool, such as an agent that refuses private
   * addresses (outbound webhooks).
   */
  dispatcher?: Dispatcher;
}

export interface PartnerResponse {
  status: number;
  headers: ResponseHeaders;
  /**
   * Parsed JSON when the content type says JSON, else the text; `null` when the body is empty. A
   * Buffer when the request asked for `binary`.
   */
  body: unknown;
  /** How many bytes the body had as received. */
  size: number;
  durationMs: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** An error body is read only this far: enough for the excerpt, without downloading an error page. */
const ERROR_BODY_BYTES = 4096;

/**
 * The one way to call a partner: every outcome becomes a response or a classified ProviderError
 * the job engine knows how to retry, and every call writes one log line without secrets.
 */
@Injectable()
export class PartnerHttpClient implements OnModuleDestroy {
  private readonly logger = new Logger(PartnerHttpClient.name);
  // One agent for the process keeps a pool of idle keep-alive sockets per partner origin, so
  // repeated calls skip the TCP and TLS handshakes.
  private readonly agent = new Agent();

  constructor(
    @Optional() private readonly clock: Clock = new Clock(),
    @Optional() private readonly tracing: Tracing = Tracing.off(),
  ) {}

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }

  request(options: PartnerRequest): Promise<PartnerResponse> {
    if (!this.tracing.enabled) return this.send(options, null);
    // A span per call, the child of the active one (a job attempt's): method, masked URL, status,
    // and the classified code when it fails.
    const span = this.tracing.startSpan(options.method, SpanKind.CLIENT, {
      'http.request.method': options.method,
    })!;
    return this.tracing.endWith(span, this.send(options, span));
  }

  private async send(options: PartnerRequest, span: Span | null): Promise<PartnerResponse> {
    const { method } = options;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    let secrets = options.secrets ?? [];
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    // The URL as the log line and errors show it: masked once, after parsing adds the query.
    let shownUrl: string | undefined;
    const shown = () => (shownUrl ??= maskUrl(options.url, secrets));
    // What the log line says after the arrow; set where the call ends.
    let outcome = '';
    // One abort for both the job's signal and the call's timeout: AbortSignal.any and
    // AbortSignal.timeout cost more per call than the rest of the client together, and even an
    // AbortController costs more than the emitter undici also accepts as a signal.
    const abort = new CallAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort(undefined);
    }, timeoutMs);
    const stop = () => abort.abort(options.signal?.reason);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop);
    try {
      const target = parseUrl(options.url, options.query);
      const headers = { ...options.headers };
      const userinfo = moveUserinfoToHeader(target.url, headers);
      if (userinfo.length > 0) secrets = [...secrets, ...userinfo];
      // A connection's calls repeat its URLs with the same secrets, so the URL masked for the last
      // secrets is most likely the one wanted next.
      if (!target.shown || !sameSecrets(target.shown.secrets, secrets))
        target.shown = { secrets: [...secrets], url: maskUrl(target.url.href, secrets) };
      shownUrl = target.shown.url;
      span?.setAttribute('url.full', shownUrl);
      const response = await (options.dispatcher ?? this.agent).request({
        origin: target.origin,
        path: target.path,
        method,
        headers,
        body: encodeBody(options.body, headers),
        signal: abort,
      });
      const status = response.statusCode;
      span?.setAttribute('http.response.status_code', status);
      const contentType = headerValue(response.headers['content-type']);
      const answered = `${method} ${shown()} answered ${status}`;
      if (status >= 300 && status < 400) {
        await response.body.dump();
        const location = headerValue(response.headers.location);
        outcome = `${status} in ${elapsed()} ms`;
        throw new ProviderError(
          'PERMANENT',
          `${answered}, a redirect to ${location ? maskUrl(location, secrets) : '(no Location)'}, which is not followed`,
          { status },
        );
      }
      const verdict = classifyStatus(status, response.headers, this.clock.now());
      if (verdict) {
        const { bytes } = await readCapped(response.body, ERROR_BODY_BYTES);
        const excerpt = bodyExcerpt(bytes.toString('utf8'), contentType, secrets);
        outcome = `${status} in ${elapsed()} ms`;
        throw new ProviderError(verdict.code, excerpt ? `${answered}: ${excerpt}` : answered, {
          status,
          retryAfterMs: verdict.retryAfterMs,
          retryAfterDefaulted: verdict.retryAfterDefaulted,
          responseText: bytes.toString('utf8'),
        });
      }
      const { bytes, truncated } = await readCapped(response.body, maxBytes);
      if (truncated) {
        outcome = `${status} in ${elapsed()} ms, response larger than ${maxBytes} bytes`;
        throw new ProviderError('PERMANENT', `${answered} with a response larger than ${maxBytes} bytes`, {
          status,
        });
      }
      const body = options.binary ? bytes : decodeBody(bytes, contentType, options.maskBody ? secrets : []);
      outcome = `${status} in ${elapsed()} ms`;
      if (body === INVALID_JSON) {
        throw new ProviderError('PERMANENT', `${answered} with a body that is not the JSON it claims`, {
          status,
        });
      }
      return { status, headers: response.headers, body, size: bytes.length, durationMs: elapsed() };
    } catch (error) {
      // The job was cancelled, timed out as a whole or lost its lease: the engine must see its own
      // reason, not a partner failure it would retry.
      if (options.signal?.aborted) {
        outcome = `aborted after ${elapsed()} ms`;
        throw options.signal.reason;
      }
      if (timedOut) {
        outcome = `timeout after ${timeoutMs} ms`;
        throw new ProviderError('TEMPORARY', `${method} ${shown()} timed out after ${timeoutMs} ms`, {
          cause: error,
        });
      }
      if (error instanceof ProviderError) {
        outcome ||= `${error.code} in ${elapsed()} ms`;
        throw error;
      }
      const code = errorCodes(error)[0] ?? (error instanceof Error ? error.name : 'ERROR');
      outcome = `${code} in ${elapsed()} ms`;
      throw new ProviderError(classifyNetworkError(error), `${method} ${shown()} failed: ${code}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      await this.writeLog(options.log, `${method} ${shown()} -> ${outcome}`);
    }
  }

  /**
   * Calls made outside a job (no `log`) still leave a trace, in the application log. A log that
   * cannot be written must not turn the call's outcome into a different failure.
   */
  private async writeLog(log: PartnerRequest['log'], line: string): Promise<void> {
    if (!log) {
      this.logger.debug(line);
      return;
    }
    try {
      await log(line);
    } catch (error) {
      this.logger.warn(`could not write the log line "${line}": ${String(error)}`);
    }
  }
}

/** What undici needs of a signal (`aborted`, `reason` and an `abort` event), for one call. */
class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** A partner URL parsed, with the parts undici asks for. The URL must not be changed: it may be shared. */
interface Target {
  url: URL;
  origin: string;
  path: string;
  /** The URL masked for the last list of secrets it was shown with. */
  shown?: { secrets: readonly string[]; url: string };
}

function sameSecrets(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((secret, i) => secret === b[i]);
}

/** URLs without a query parsed before: a connection's calls repeat the same few. */
const knownTargets = new Map<string, Target>();
const MAX_KNOWN_TARGETS = 1000;

function parseUrl(raw: string, query: PartnerRequest['query']): Target {
  const known = query === undefined ? knownTargets.get(raw) : undefined;
  if (known) return known;
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderError(
      'PERMANENT',
      `only http and https partner URLs are supported, not ${url.protocol}`,
    );
  }
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined) url.searchParams.append(name, String(value));
  }
  const target = { url, origin: url.origin, path: `${url.pathname}${url.search}` };
  if (query === undefined) {
    if (knownTargets.size >= MAX_KNOWN_TARGETS) knownTargets.clear();
    knownTargets.set(raw, target);
  }
  return target;
}

/**
 * Credentials written into the URL (`https://user:pass@host`) become Basic auth, as curl does;
 * undici would otherwise drop them silently. Returns what must be masked: the password and the
 * header's base64 (which decodes to it), or the user alone when it is the token
 * (`https://ghp_…@host`).
 */
function moveUserinfoToHeader(url: URL, headers: Record<string, string>): string[] {
  if (!url.username && !url.password) return [];
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const basic = Buffer.from(`${username}:${password}`).toString('base64');
  if (!hasHeader(headers, 'authorization')) headers.authorization = `Basic ${basic}`;
  return [password || username, basic];
}

function encodeBody(
  body: PartnerRequest['body'],
  headers: Record<string, string>,
): string | Uint8Array | undefined {
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) return body;
  if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
  return JSON.stringify(body);
}

/**
 * Reads at most `limit` bytes; `truncated` when the body went on, in which case the rest is not
 * downloaded (the connection is closed instead of reused). Through the stream's events: an async
 * iterator over it cost more than the rest of the read.
 */
function readCapped(
  body: Dispatcher.ResponseData['body'],
  limit: number,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      if (size + chunk.length > limit) {
        chunks.push(chunk.subarray(0, limit - size));
        // Destroying the stream stops the download.
        body.destroy();
        resolve({ bytes: Buffer.concat(chunks), truncated: true });
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    body.on('end', () => resolve({ bytes: Buffer.concat(chunks, size), truncated: false }));
    body.on('error', reject);
    // Closed with neither its end nor an error (destroyed elsewhere), it would never settle.
    body.on('close', () => {
      if (!body.readableEnded && !body.errored) reject(new Error('the response closed before its end'));
    });
  });
}

const INVALID_JSON = Symbol('invalid JSON');

/** JSON must be UTF-8 (RFC 8259), and partners send text as UTF-8 in practice. */
function decodeBody(bytes: Buffer, contentType: string | undefined, secrets: readonly string[]): unknown {
  const text = maskSecrets(bytes.toString('utf8'), secrets);
  if (text.length === 0) return null;
  if (!isJson(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

/** The last content type asked about and whether it is JSON: a partner answers with the same one. */
let lastContentType: string | undefined;
let lastIsJson = false;

function isJson(contentType: string | undefined): boolean {
  if (contentType !== lastContentType) {
    lastIsJson = isJsonContentType(contentType);
    lastContentType = contentType;
  }
  return lastIsJson;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}
