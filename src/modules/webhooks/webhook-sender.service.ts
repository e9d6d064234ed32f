import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { Agent } from 'undici';
import { Clock } from '../../common/clock.js';
import { SpanKind, Tracing, markFailed } from '../../common/tracing/tracing.js';
import type { Span } from '../../common/tracing/tracing.js';
import { AppConfig } from '../../config/app-config.js';
import { PartnerHttpClient, ProviderError } from '../providers/providers.contract.js';
import type { ProviderErrorCode } from '../providers/providers.contract.js';
import { addressRefusalIn, publicOnlyAgent } from './address-guard.js';
import { signatureHeader } from './webhook-signature.js';

/** Standard Webhooks' receivers should answer quickly; a slower one is a failed attempt. */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** How much of a response an attempt keeps. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/**
 * Header values shorter than this are not masked in what an attempt keeps and logs: one as short as
 * `1` or `true` is no credential, and masking it would garble every response, error and URL that
 * happens to contain it.
 */
const MIN_MASKED_HEADER_CHARS = 8;

export interface SignedRequest {
  url: string;
  /** The endpoint's own headers. */
  headers: Record<string, string>;
  /** Every secret that signs now. */
  secrets: string[];
  /** `webhook-id`: the event's id, the same on every attempt. */
  messageId: string;
  body: string;
  signal?: AbortSignal;
  log?: (line: string) => Promise<void>;
}

/** What one request came to. `code` says how to go on when it failed. */
export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  /** The first 1 KB of the response body. */
  response: string | null;
  error: string | null;
  /** `REFUSED`: the address is private and may not be reached. */
  code: ProviderErrorCode | 'REFUSED' | null;
  retryAfterMs: number | null;
}

/**
 * Sends one signed delivery through the partner HTTP client (so it is classified and logged
 * without secrets), over an agent that refuses private addresses unless they are allowed.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly agent: Agent;

  constructor(
    private readonly http: PartnerHttpClient,
    private readonly clock: Clock,
    private readonly tracing: Tracing,
    config: AppConfig,
  ) {
    this.agent = config.webhooks.allowPrivate ? new Agent() : publicOnlyAgent();
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }

  /** One attempt of a delivery; traced as a `webhook.delivery` span around its partner call. */
  send(request: SignedRequest): Promise<SendOutcome> {
    if (!this.tracing.enabled) return this.sendSigned(request);
    const span = this.tracing.startSpan('webhook.delivery', SpanKind.PRODUCER, {
      'webhook.message_id': request.messageId,
    })!;
    return this.tracing.endWith(
      span,
      this.tracing
        .withSpan(span, () => this.sendSigned(request))
        .then((outcome) => {
          recordOutcome(span, outcome);
          return outcome;
        }),
    );
  }

  private async sendSigned(request: SignedRequest): Promise<SendOutcome> {
    const timestamp = Math.floor(this.clock.now().getTime() / 1000);
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    const secrets = [...Object.values(request.headers).filter(isMaskable), ...request.secrets];
    try {
      const response = await this.http.request({
        method: 'POST',
        url: request.url,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'webhook-id': request.messageId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(request.secrets, request.messageId, timestamp, request.body),
        },
        body: request.body,
        timeoutMs: DELIVERY_TIMEOUT_MS,
        dispatcher: this.agent,
        // The status alone decides: a receiver's 2xx body is kept as it came, never parsed.
        binary: true,
        secrets,
        signal: request.signal,
        log: request.log,
      });
      return succeeded(response.status, response.durationMs, excerpt(response.body as Buffer, secrets));
    } catch (error) {
      if (request.signal?.aborted) throw error;
      const refused = addressRefusalIn(error);
      if (refused) {
        return {
          ok: false,
          statusCode: null,
          durationMs: elapsed(),
          response: null,
          error: refused.message,
          code: 'REFUSED',
          retryAfterMs: null,
        };
      }
      if (!(error instanceof ProviderError)) throw error;
      // A 2xx the client still refused (a body over its size cap) was received all the same.
      if (error.status !== undefined && error.status >= 200 && error.status < 300)
        return succeeded(error.status, elapsed(), null);
      return {
        ok: false,
        statusCode: error.status ?? null,
        durationMs: elapsed(),
        response: excerpt(error.responseText ?? null, secrets),
        error: error.message,
        code: error.code,
        // The client puts a default wait on a 429 without Retry-After; the endpoint's retry
        // schedule applies then instead, or every attempt would be spent a second apart.
        retryAfterMs: error.retryAfterDefaulted ? null : (error.retryAfterMs ?? null),
      };
    }
  }
}

function isMaskable(headerValue: string): boolean {
  return headerValue.length >= MIN_MASKED_HEADER_CHARS;
}

function succeeded(statusCode: number, durationMs: number, response: string | null): SendOutcome {
  return { ok: true, statusCode, durationMs, response, error: null, code: null, retryAfterMs: null };
}

/** A failed attempt is an ERROR with its code (REFUSED, TEMPORARY...); the message can hold no secret. */
function recordOutcome(span: Span, outcome: SendOutcome): void {
  if (outcome.statusCode !== null) span.setAttribute('http.response.status_code', outcome.statusCode);
  if (!outcome.ok) markFailed(span, outcome.code ?? 'ERROR', outcome.error ?? 'the delivery failed');
}

/**
 * The first 1 KB, with the endpoint's secrets masked in case the receiver echoes a header back: at
 * most 1024 bytes of UTF-8, cut before a character that would not fit whole rather than inside it,
 * and with NUL (which a binary answer holds, and PostgreSQL text cannot) as U+FFFD, as other bytes
 * that are not text already are.
 */
function excerpt(raw: string | Buffer | null, secrets: readonly string[]): string | null {
  if (raw === null || raw.length === 0) return null;
  // Of a large body only its start is decoded: enough for the excerpt and any secret across its end.
  const longest = secrets.reduce((most, secret) => Math.max(most, Buffer.byteLength(secret)), 0);
  let text =
    typeof raw === 'string' ? raw : raw.subarray(0, RESPONSE_EXCERPT_BYTES + longest).toString('utf8');
  for (const secret of secrets) if (secret.length > 0) text = text.replaceAll(secret, '***');
  text = text.replaceAll('\0', '\uFFFD');
  if (Buffer.byteLength(text) <= RESPONSE_EXCERPT_BYTES) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > RESPONSE_EXCERPT_BYTES) break;
    end += char.length;
  }
  return text.slice(0, end);
}
