import Fastify from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';

/**
 * A team's service receiving Junction's webhooks, as the Standard Webhooks spec has receivers do:
 * each delivery is verified on its raw bytes with the `standardwebhooks` package. Each path is a
 * receiver of its own (one per test), with the secret it verifies with and the answers it gives.
 */

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  body: string;
  /** Whether `Webhook.verify` accepted it with the path's secret. */
  verified: boolean;
  verifyError: string | null;
  at: Date;
}

/** An answer other than 200: a status, with Retry-After in seconds when given. */
export interface ReceiverAnswer {
  status: number;
  retryAfter?: number;
  /** Bytes are sent as they are (a binary answer). */
  body?: string | Buffer;
  /** `application/json` unless given. */
  contentType?: string;
  /** Answers only after this long. */
  delayMs?: number;
}

interface PathState {
  secret: string | null;
  /** Answered in turn; when empty, `fallback` (200 by default). */
  answers: ReceiverAnswer[];
  fallback: ReceiverAnswer;
  received: ReceivedDelivery[];
}

export class WebhookReceiver {
  private readonly server = Fastify();
  private readonly paths = new Map<string, PathState>();
  url = '';

  private constructor() {
    // The raw bytes, as sent: verification is over them, not over parsed JSON.
    this.server.removeAllContentTypeParsers();
    this.server.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    this.server.post('/*', async (request, reply) => {
      const state = this.state(request.url);
      const body = request.body as string;
      const { verified, verifyError } = verify(state.secret, body, request.headers);
      state.received.push({
        path: request.url,
        headers: request.headers,
        body,
        verified,
        verifyError,
        at: new Date(),
      });
      const answer = state.answers.shift() ?? state.fallback;
      if (answer.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (answer.retryAfter !== undefined) void reply.header('retry-after', String(answer.retryAfter));
      return reply
        .code(answer.status)
        .type(answer.contentType ?? 'application/json')
        .send(answer.body ?? JSON.stringify({ ok: answer.status < 300 }));
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await receiver.server.listen({ host: '127.0.0.1', port: 0 });
    const address = receiver.server.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    receiver.url = `http://127.0.0.1:${address.port}`;
    return receiver;
  }

  /** Verify what arrives at `path` with this secret. */
  expectSecret(path: string, secret: string): void {
    this.state(path).secret = secret;
  }

  /** The next requests to `path` get these answers, in turn. */
  answer(path: string, ...answers: ReceiverAnswer[]): void {
    this.state(path).answers.push(...answers);
  }

  /** Requests to `path` get this answer once the queued ones are used up. */
  answerAlways(path: string, answer: ReceiverAnswer): void {
    this.state(path).fallback = answer;
  }

  received(path: string): ReceivedDelivery[] {
    return this.state(path).received;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private state(path: string): PathState {
    let state = this.paths.get(path);
    if (!state) {
      state = { secret: null, answers: [], fallback: { status: 200 }, received: [] };
      this.paths.set(path, state);
    }
    return state;
  }
}

function verify(
  secret: string | null,
  body: string,
  headers: IncomingHttpHeaders,
): { verified: boolean; verifyError: string | null } {
  if (secret === null) return { verified: false, verifyError: 'no secret set' };
  try {
    new Webhook(secret).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    });
    return { verified: true, verifyError: null };
  } catch (error) {
    return { verified: false, verifyError: (error as Error).message };
  }
}
