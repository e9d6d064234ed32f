import { createServer } from 'node:net';
import { Clock } from '../src/common/clock.js';
import { PartnerHttpClient } from '../src/modules/providers/http/partner-http.client.js';
import type { PartnerRequest } from '../src/modules/providers/http/partner-http.client.js';
import { ProviderError } from '../src/modules/providers/http/provider-error.js';
import { startFakePartner } from './fakes/partner.js';
import type { FakeAnswer, FakePartner } from './fakes/partner.js';

/** The client against a real local partner server: no app boot, real sockets. */

const TOKEN = 'tok_live_9f8e7d6c5b4a';
const API_KEY = 'key-123-abc';

class FixedClock extends Clock {
  constructor(private readonly at: Date) {
    super();
  }

  override now(): Date {
    return new Date(this.at);
  }
}

let partner: FakePartner;
let client: PartnerHttpClient;
let lines: string[];

beforeAll(() => {
  client = new PartnerHttpClient();
});

afterAll(async () => {
  await client.onModuleDestroy();
});

beforeEach(async () => {
  partner = await startFakePartner({ token: TOKEN });
  lines = [];
});

afterEach(async () => {
  await partner.close();
});

/** A call as a provider makes it: bearer token in a header and in `secrets`, the job's log. */
function call(
  method: PartnerRequest['method'],
  path: string,
  extra: Partial<PartnerRequest> = {},
  using: PartnerHttpClient = client,
) {
  return using.request({
    method,
    url: `${partner.url}${path}`,
    headers: { authorization: `Bearer ${TOKEN}` },
    secrets: [TOKEN],
    log: (line) => {
      lines.push(line);
    },
    ...extra,
  });
}

/** The error a call failed with; fails the test when it succeeded. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('PartnerHttpClient answers', () => {
  it('returns the parsed JSON when the partner creates an order', async () => {
    const response = await call('POST', '/orders', {
      body: { reference: 'PO-1', lines: [{ sku: 'A-1', quantity: 2 }] },
    });

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id: 'ord_1', reference: 'PO-1', status: 'received' });
    expect(response.durationMs).toBeGreaterThanOrEqual(0);
    expect(partner.requests[0]?.headers['content-type']).toBe('application/json');
    expect(partner.requests[0]?.body).toEqual({ reference: 'PO-1', lines: [{ sku: 'A-1', quantity: 2 }] });
    expect(lines).toEqual([
      expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/orders -> 201 in \d+ ms$/),
    ]);
  });

  it('returns the first order with 200 when the same Idempotency-Key is sent again', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'job-42' };
    const first = await call('POST', '/orders', { headers, body: { reference: 'PO-1' } });
    const again = await call('POST', '/orders', { headers, body: { reference: 'PO-1' } });

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(partner.orders.size).toBe(1);
  });

  it('sends a string body as it is when the body is a string', async () => {
    const response = await call('POST', '/orders', {
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"reference":"PO-7"}',
    });

    expect(response.status).toBe(201);
    expect(partner.requests[0]?.body).toEqual({ reference: 'PO-7' });
  });

  it('returns text when the partner answers text/plain', async () => {
    const response = await call('GET', '/');

    expect(response.status).toBe(200);
    expect(response.body).toBe('ok');
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('appends the query and follows next_cursor when shipments come in pages', async () => {
    partner.addShipments(
      { id: 'shp_1', order_id: 'ord_1', status: 'shipped', updated_at: '2026-11-30T10:00:00Z' },
      { id: 'shp_2', order_id: 'ord_2', status: 'shipped', updated_at: '2026-12-01T09:00:00Z' },
      { id: 'shp_3', order_id: 'ord_3', status: 'delivered', updated_at: '2026-12-01T10:00:00Z' },
      { id: 'shp_4', order_id: 'ord_4', status: 'shipped', updated_at: '2026-12-01T11:00:00Z' },
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await call('GET', '/shipments', {
        query: { updated_since: '2026-12-01T00:00:00Z', cursor: cursor ?? undefined },
      });
      const page = response.body as { data: { shipments: { id: string }[] }; next_cursor: string | null };
      seen.push(...page.data.shipments.map((shipment) => shipment.id));
      cursor = page.next_cursor;
    } while (cursor !== null);

    expect(seen).toEqual(['shp_2', 'shp_3', 'shp_4']);
    expect(partner.requests.map((request) => request.query.updated_since)).toEqual([
      '2026-12-01T00:00:00Z',
      '2026-12-01T00:00:00Z',
    ]);
    expect(partner.requests[0]?.query.cursor).toBeUndefined();
  });

  it('reuses one connection when two requests follow each other', async () => {
    await call('GET', '/');
    // undici hands a kept-alive socket back to the pool one event-loop turn after the response, to
    // see first whether the server closes it; a request sent within the same turn opens another.
    await new Promise((resolve) => setImmediate(resolve));
    await call('POST', '/orders', { body: { reference: 'PO-1' } });

    expect(partner.requests).toHaveLength(2);
    expect(partner.requests[1]?.remotePort).toBe(partner.requests[0]?.remotePort);
  });
});

describe('PartnerHttpClient classification', () => {
  it.each<[string, FakeAnswer, ProviderError['code'], number | undefined]>([
    ['500', { kind: 'status', status: 500 }, 'TEMPORARY', undefined],
    ['502', { kind: 'status', status: 502 }, 'TEMPORARY', undefined],
    ['408', { kind: 'status', status: 408 }, 'TEMPORARY', undefined],
    ['503 without Retry-After', { kind: 'status', status: 503 }, 'TEMPORARY', undefined],
    ['503 with Retry-After: 7', { kind: 'status', status: 503, retryAfter: 7 }, 'RATE_LIMITED', 7000],
    ['429 with Retry-After: 3', { kind: 'status', status: 429, retryAfter: 3 }, 'RATE_LIMITED', 3000],
    ['429 without Retry-After', { kind: 'status', status: 429 }, 'RATE_LIMITED', 1000],
    ['401', { kind: 'status', status: 401 }, 'AUTH', undefined],
    ['403', { kind: 'status', status: 403 }, 'AUTH', undefined],
    ['404', { kind: 'status', status: 404 }, 'NOT_FOUND', undefined],
    ['410', { kind: 'status', status: 410 }, 'NOT_FOUND', undefined],
    ['422', { kind: 'status', status: 422 }, 'PERMANENT', undefined],
  ])('throws the code when the partner answers %s', async (_label, answer, code, retryAfterMs) => {
    partner.answerNext(answer);

    const error = await providerFailure(call('GET', '/orders/ord_1'));

    expect(error.code).toBe(code);
    expect(error.retryAfterMs).toBe(retryAfterMs);
    expect(error.status).toBe(answer.kind === 'status' ? answer.status : undefined);
    expect(lines).toEqual([
      expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/orders\/ord_1 -> \d{3} in \d+ ms$/),
    ]);
  });

  it('throws RATE_LIMITED with the wait until the date when a 429 carries an HTTP-date Retry-After', async () => {
    const now = new Date('2026-12-01T12:00:00.000Z');
    const timed = new PartnerHttpClient(new FixedClock(now));
    partner.answerNext({ kind: 'status', status: 429, retryAfter: new Date('2026-12-01T12:00:30.000Z') });

    try {
      const error = await providerFailure(call('GET', '/orders/ord_1', {}, timed));

      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryAfterMs).toBe(30_000);
    } finally {
      await timed.onModuleDestroy();
    }
  });

  it('throws NOT_FOUND when the order does not exist', async () => {
    const error = await providerFailure(call('GET', '/orders/ord_404'));

    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('no order ord_404');
  });

  it("throws PERMANENT with the partner's reason when the order is invalid", async () => {
    const error = await providerFailure(call('POST', '/orders', { body: { lines: [] } }));

    expect(error).toMatchObject({ code: 'PERMANENT', status: 422 });
    expect(error.message).toContain('reference is required');
  });

  it('throws AUTH when the bearer token is wrong', async () => {
    const error = await providerFailure(
      call('GET', '/orders/ord_1', { headers: { authorization: 'Bearer wrong' } }),
    );

    expect(error).toMatchObject({ code: 'AUTH', status: 401 });
  });

  it('throws PERMANENT naming the Location when the partner redirects', async () => {
    partner.answerNext({
      kind: 'redirect',
      location: 'https://elsewhere.example/v2/orders?signature=s1gned',
      status: 301,
    });

    const error = await providerFailure(call('GET', '/orders/ord_1'));

    expect(error).toMatchObject({ code: 'PERMANENT', status: 301 });
    expect(error.message).toContain('https://elsewhere.example/v2/orders?signature=***');
    expect(partner.requests).toHaveLength(1);
  });

  it('throws TEMPORARY when the connection is refused', async () => {
    const port = await closedPort();

    const error = await providerFailure(
      client.request({
        method: 'GET',
        url: `http://127.0.0.1:${port}/`,
        log: (line) => void lines.push(line),
      }),
    );

    expect(error.code).toBe('TEMPORARY');
    expect(error.status).toBeUndefined();
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/ -> ECONNREFUSED in \\d+ ms$`)),
    ]);
  });

  it('throws TEMPORARY when the partner resets the connection', async () => {
    partner.answerNext({ kind: 'reset' });

    const error = await providerFailure(call('GET', '/orders/ord_1'));

    expect(error.code).toBe('TEMPORARY');
    expect(lines).toEqual([expect.stringMatching(/ -> (ECONNRESET|UND_ERR_SOCKET) in \d+ ms$/)]);
  });

  it('throws TEMPORARY when the answer is slower than timeoutMs', async () => {
    partner.answerNext({ kind: 'slow', delayMs: 5000 });
    const startedAt = Date.now();

    const error = await providerFailure(call('GET', '/orders/ord_1', { timeoutMs: 200 }));

    expect(error.code).toBe('TEMPORARY');
    expect(error.message).toContain('timed out after 200 ms');
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(lines).toEqual([expect.stringMatching(/^GET \S+ -> timeout after 200 ms$/)]);
  });

  it("rethrows the caller's reason, not TEMPORARY, when the caller aborts", async () => {
    partner.answerNext({ kind: 'slow', delayMs: 5000 });
    const controller = new AbortController();
    const cancelled = new Error('the job was cancelled');
    setTimeout(() => controller.abort(cancelled), 100);

    const error = await failure(call('GET', '/orders/ord_1', { signal: controller.signal }));

    expect(error).toBe(cancelled);
    expect(lines).toEqual([expect.stringMatching(/ -> aborted after \d+ ms$/)]);
  });

  it("rethrows the caller's reason without calling when the signal is already aborted", async () => {
    const error = await failure(call('GET', '/orders/ord_1', { signal: AbortSignal.abort() }));

    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(partner.requests).toHaveLength(0);
    expect(lines).toEqual([expect.stringMatching(/ -> aborted after \d+ ms$/)]);
  });

  it('throws PERMANENT when the body is larger than the default 1 MiB cap', async () => {
    partner.answerNext({ kind: 'huge', bytes: 3 * 1024 * 1024 });

    const error = await providerFailure(call('GET', '/'));

    expect(error).toMatchObject({ code: 'PERMANENT', status: 200 });
    expect(error.message).toContain('response larger than 1048576 bytes');
    expect(lines).toEqual([expect.stringMatching(/ -> 200 in \d+ ms, response larger than 1048576 bytes$/)]);
  });

  it('returns the body when it is exactly maxResponseBytes long', async () => {
    partner.answerNext({ kind: 'huge', bytes: 100_000 });

    const response = await call('GET', '/', { maxResponseBytes: 100_000 });

    expect((response.body as string).length).toBe(100_000);
  });

  it('throws PERMANENT when the body is one byte over maxResponseBytes', async () => {
    partner.answerNext({ kind: 'huge', bytes: 100_001 });

    const error = await providerFailure(call('GET', '/', { maxResponseBytes: 100_000 }));

    expect(error.code).toBe('PERMANENT');
  });

  it('answers the next call when the partner is healthy again after failures', async () => {
    partner.answerNext({ kind: 'status', status: 503 }, 2);

    await providerFailure(call('GET', '/'));
    await providerFailure(call('GET', '/'));
    const response = await call('GET', '/');

    expect(response.body).toBe('ok');
  });
});

describe('PartnerHttpClient secrets', () => {
  it('masks api_key and the given secrets when the URL carries them', async () => {
    await call('GET', '/', { query: { api_key: API_KEY, session: TOKEN, page: 2 } });

    expect(partner.requests[0]?.query).toEqual({ api_key: API_KEY, session: TOKEN, page: '2' });
    expect(lines).toEqual([
      expect.stringMatching(
        /^GET http:\/\/127\.0\.0\.1:\d+\/\?api_key=\*\*\*&session=\*\*\*&page=2 -> 200 in \d+ ms$/,
      ),
    ]);
    expect(lines[0]).not.toContain(API_KEY);
    expect(lines[0]).not.toContain(TOKEN);
  });

  it('keeps the bearer token out of the error message when the partner echoes it', async () => {
    partner.answerNext({
      kind: 'status',
      status: 401,
      body: { error: { code: 'token_revoked', message: `token ${TOKEN} was revoked` } },
    });

    const error = await providerFailure(call('GET', '/orders/ord_1', { query: { api_key: API_KEY } }));

    expect(error.code).toBe('AUTH');
    expect(error.message).toContain('token *** was revoked');
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain(API_KEY);
    expect(lines[0]).not.toContain(TOKEN);
  });

  it('sends userinfo as Basic auth and masks the password when the URL carries it', async () => {
    const url = partner.url.replace('http://', 'http://shop:pa55-w0rd@');

    await client.request({ method: 'GET', url: `${url}/`, log: (line) => void lines.push(line) });

    expect(partner.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('shop:pa55-w0rd').toString('base64')}`,
    );
    expect(lines).toEqual([
      expect.stringMatching(/^GET http:\/\/shop:\*\*\*@127\.0\.0\.1:\d+\/ -> 200 in \d+ ms$/),
    ]);
  });

  it('masks the Basic header made from userinfo, and a user that is the token, when the partner echoes them', async () => {
    const basic = Buffer.from('shop:pa55-w0rd').toString('base64');
    partner.answerNext({
      kind: 'status',
      status: 401,
      body: `refused: Basic ${basic}`,
      contentType: 'text/plain',
    });
    const refused = await providerFailure(
      client.request({ method: 'GET', url: `${partner.url.replace('http://', 'http://shop:pa55-w0rd@')}/` }),
    );
    expect(refused.message).toContain('refused: Basic ***');
    expect(refused.message).not.toContain(basic);

    await client.request({
      method: 'GET',
      url: `${partner.url.replace('http://', 'http://ghp_t0ken1234@')}/`,
      log: (line) => void lines.push(line),
    });
    expect(lines).toEqual([
      expect.stringMatching(/^GET http:\/\/\*\*\*@127\.0\.0\.1:\d+\/ -> 200 in \d+ ms$/),
    ]);
  });

  it('cuts the body excerpt to 200 characters when the error body is long', async () => {
    partner.answerNext({ kind: 'status', status: 500, body: 'e'.repeat(5000) });

    const error = await providerFailure(call('GET', '/'));

    expect(error.message).toMatch(/answered 500: e{200}…$/);
  });

  it('leaves the body out of the message when the error body is not text', async () => {
    partner.answerNext({
      kind: 'status',
      status: 500,
      body: 'binary-ish',
      contentType: 'application/octet-stream',
    });

    const error = await providerFailure(call('GET', '/'));

    expect(error.message).toMatch(/answered 500$/);
  });

  it('puts a multi-line error body on one line when the partner sends line breaks', async () => {
    partner.answerNext({ kind: 'status', status: 500, body: 'first\nGET /forged -> 200 in 1 ms' });

    const error = await providerFailure(call('GET', '/'));

    expect(error.message).not.toContain('\n');
  });
});
