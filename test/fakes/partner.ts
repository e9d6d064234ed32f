import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * A partner's REST API as its documentation describes it (orders with idempotency keys, shipments
 * paged by cursor, bearer auth), plus switches that make it misbehave the ways real partners do.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The client's port: two requests with the same one came over one kept-alive connection. */
  remotePort: number;
  at: Date;
}

export type FakeAnswer =
  /** An error status; `retryAfter` as seconds, an HTTP date, or a raw header value. */
  | {
      kind: 'status';
      status: number;
      retryAfter?: number | Date | string;
      body?: unknown;
      contentType?: string;
      /** Sent this long after the request came, as a slow partner would. */
      delayMs?: number;
    }
  /** The normal answer, after `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** 200 with a text body of `bytes` bytes, streamed without a Content-Length. */
  | { kind: 'huge'; bytes: number }
  | { kind: 'redirect'; location: string; status?: number }
  /** The connection is destroyed without an answer. */
  | { kind: 'reset' };

export interface Order {
  id: string;
  reference: string;
  lines: unknown[];
  status: 'received';
  created_at: string;
}

export interface Shipment {
  id: string;
  order_id: string;
  status: string;
  updated_at: string;
}

export interface FakePartnerOptions {
  /** When set, every route but `GET /` wants `Authorization: Bearer <token>`. */
  token?: string;
  /** Shipments per page; default 2, small so paging shows in tests. */
  pageSize?: number;
  /**
   * How `updated_since` compares: `inclusive` (the default) answers shipments updated at or after
   * it, `exclusive` only those updated after it, as some partners do.
   */
  since?: 'inclusive' | 'exclusive';
}

export interface FakePartner {
  url: string;
  requests: RecordedRequest[];
  orders: Map<string, Order>;
  /**
   * Makes the next `times` answers (or all of them) this one, whatever the route, after letting
   * `after` requests through as usual.
   */
  answerNext(answer: FakeAnswer, times?: number | 'all', after?: number): void;
  clearAnswers(): void;
  addShipments(...shipments: Shipment[]): void;
  close(): Promise<void>;
}

export async function startFakePartner(options: FakePartnerOptions = {}): Promise<FakePartner> {
  const pageSize = options.pageSize ?? 2;
  const exclusive = options.since === 'exclusive';
  // forceCloseConnections: a slow answer or an idle keep-alive socket must not hold up close().
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const requests: RecordedRequest[] = [];
  const orders = new Map<string, Order>();
  const ordersByKey = new Map<string, string>();
  const shipments: Shipment[] = [];
  const answers: { answer: FakeAnswer; remaining: number | 'all'; after: number }[] = [];
  const pending = new Set<AbortController>();

  const nextAnswer = (): FakeAnswer | null => {
    const head = answers[0];
    if (!head) return null;
    if (head.after > 0) {
      head.after--;
      return null;
    }
    if (head.remaining !== 'all' && --head.remaining <= 0) answers.shift();
    return head.answer;
  };

  app.addHook('preHandler', async (request, reply) => {
    requests.push({
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      query: request.query as Record<string, string | string[]>,
      headers: request.headers,
      body: request.body ?? null,
      remotePort: request.socket.remotePort ?? 0,
      at: new Date(),
    });
    const answer = nextAnswer();
    if (answer) {
      const sent = await misbehave(answer, request, reply, pending);
      if (sent) return reply;
    }
    const open = request.method === 'GET' && request.url === '/';
    if (options.token && !open && request.headers.authorization !== `Bearer ${options.token}`) {
      return reply.code(401).send(problem('unauthorized', 'missing or invalid bearer token'));
    }
    return undefined;
  });

  app.get('/', async (_request, reply) => reply.type('text/plain').send('ok'));

  app.post('/orders', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const known = typeof key === 'string' ? ordersByKey.get(key) : undefined;
    if (known) return reply.code(200).send(orders.get(known));
    const input = (request.body ?? {}) as { reference?: unknown; lines?: unknown };
    if (typeof input.reference !== 'string' || input.reference.length === 0) {
      return reply.code(422).send(problem('invalid_order', 'reference is required'));
    }
    const order: Order = {
      id: `ord_${orders.size + 1}`,
      reference: input.reference,
      lines: Array.isArray(input.lines) ? (input.lines as unknown[]) : [],
      status: 'received',
      created_at: new Date().toISOString(),
    };
    orders.set(order.id, order);
    if (typeof key === 'string') ordersByKey.set(key, order.id);
    return reply.code(201).send(order);
  });

  app.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const order = orders.get(request.params.id);
    if (!order) return reply.code(404).send(problem('not_found', `no order ${request.params.id}`));
    return reply.send(order);
  });

  app.get<{ Querystring: { updated_since?: string; cursor?: string } }>(
    '/shipments',
    async (request, reply) => {
      const { updated_since: since, cursor } = request.query;
      if (since !== undefined && Number.isNaN(Date.parse(since))) {
        return reply.code(400).send(problem('invalid_request', 'updated_since must be an ISO-8601 time'));
      }
      const offset = cursor ? decodeCursor(cursor) : 0;
      if (offset === null) return reply.code(400).send(problem('invalid_cursor', 'cursor is not valid'));
      const matching = shipments
        .filter((shipment) => {
          if (since === undefined) return true;
          const [updated, from] = [Date.parse(shipment.updated_at), Date.parse(since)];
          return exclusive ? updated > from : updated >= from;
        })
        .sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id.localeCompare(b.id));
      const page = matching.slice(offset, offset + pageSize);
      const next = offset + pageSize < matching.length ? encodeCursor(offset + pageSize) : null;
      return reply.send({ data: { shipments: page }, next_cursor: next });
    },
  );

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(problem('not_found', `no route ${request.method} ${request.url}`)),
  );

  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    requests,
    orders,
    answerNext(answer, times = 1, after = 0) {
      answers.push({ answer, remaining: times, after });
    },
    clearAnswers() {
      answers.length = 0;
    },
    addShipments(...added) {
      shipments.push(...added);
    },
    async close() {
      for (const controller of pending) controller.abort();
      await app.close();
    },
  };
}

/** Sends the switched answer; returns false when the normal answer should follow (a slow one). */
async function misbehave(
  answer: FakeAnswer,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Set<AbortController>,
): Promise<boolean> {
  switch (answer.kind) {
    case 'status': {
      if (answer.delayMs !== undefined && !(await waitOpen(answer.delayMs, request, reply, pending)))
        return true;
      if (answer.retryAfter !== undefined) reply.header('retry-after', retryAfterValue(answer.retryAfter));
      const body = answer.body ?? problem(`http_${answer.status}`, `the partner answered ${answer.status}`);
      reply.code(answer.status);
      if (answer.contentType) reply.type(answer.contentType);
      else if (typeof body === 'string') reply.type('text/plain');
      void reply.send(body);
      return true;
    }
    case 'slow': {
      // Stop waiting once the client gave up, so close() does not wait for the timer.
      const controller = new AbortController();
      pending.add(controller);
      const onClose = () => controller.abort();
      request.socket.once('close', onClose);
      try {
        await sleep(answer.delayMs, undefined, { signal: controller.signal });
        return false;
      } catch {
        reply.hijack();
        return true;
      } finally {
        request.socket.off('close', onClose);
        pending.delete(controller);
      }
    }
    case 'huge': {
      void reply
        .code(200)
        .type('text/plain')
        .send(Readable.from(chunks(answer.bytes)));
      return true;
    }
    case 'redirect': {
      void reply.redirect(answer.location, answer.status ?? 302);
      return true;
    }
    case 'reset': {
      reply.hijack();
      request.socket.destroy();
      return true;
    }
  }
}

/**
 * Waits `delayMs` before a switched answer, as `slow` does before the normal one; false when the
 * client gave up meanwhile (the reply is then hijacked), so close() does not wait for the timer.
 */
async function waitOpen(
  delayMs: number,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Set<AbortController>,
): Promise<boolean> {
  const controller = new AbortController();
  pending.add(controller);
  const onClose = () => controller.abort();
  request.socket.once('close', onClose);
  try {
    await sleep(delayMs, undefined, { signal: controller.signal });
    return true;
  } catch {
    reply.hijack();
    return false;
  } finally {
    request.socket.off('close', onClose);
    pending.delete(controller);
  }
}

function* chunks(bytes: number): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    yield chunk.subarray(0, Math.min(chunk.length, bytes - sent));
  }
}

function retryAfterValue(value: number | Date | string): string {
  if (typeof value === 'number') return String(value);
  return value instanceof Date ? value.toUTCString() : value;
}

function problem(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeCursor(cursor: string): number | null {
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { offset?: unknown };
    return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : null;
  } catch {
    return null;
  }
}
