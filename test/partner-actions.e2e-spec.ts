import { startFakePartner } from './fakes/partner.js';
import type { FakePartner, RecordedRequest } from './fakes/partner.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const TOKEN = 'partner-bearer-token-77c1e0d9QRST';

interface JobBody {
  id: string;
  status: string;
  attempt: number;
  result: unknown;
  lastError: { code: string; message: string } | null;
  logs: { message: string }[];
}

/** An order from the shop reaches the partner through a route and the http provider, with no code. */
describe('http actions against a partner', () => {
  let t: TestApp;
  let partner: FakePartner;
  let serial = 0;

  beforeAll(async () => {
    partner = await startFakePartner({ token: TOKEN });
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    await partner.close();
  });

  /** A connection with a send-order action, and a route from `<name>.created` events to it. */
  async function connect(token = TOKEN): Promise<{ id: string; event: string }> {
    const name = `shop${++serial}`;
    const connection = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name,
        config: {
          baseUrl: partner.url,
          actions: {
            'send-order': {
              method: 'POST',
              path: '/orders',
              body: { reference: '{{input.orderId}}', lines: '{{input.lines}}' },
              idempotencyHeader: 'Idempotency-Key',
            },
          },
        },
        credentials: { type: 'bearer', token },
      })
      .expect(201);
    const id = connection.body.id as string;
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: `${name} orders`,
        eventPattern: `${name}.created`,
        jobType: 'http.action',
        payloadTemplate: { connectionId: id, action: 'send-order', input: '{{data}}' },
      })
      .expect(201);
    return { id, event: `${name}.created` };
  }

  async function order(event: string, orderId: string): Promise<string> {
    const posted = await t
      .http()
      .post('/events')
      .set(admin)
      .send({ name: event, source: 'shop', data: { orderId, lines: [{ sku: 'X-1', qty: 2 }] } })
      .expect(202);
    return (posted.body.jobIds as string[])[0];
  }

  const job = async (id: string) =>
    (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;
  const finished = (id: string) =>
    waitFor(
      () => job(id),
      (found) => ['succeeded', 'dead'].includes(found.status),
      20_000,
    );
  const ordersPosted = (reference: string): RecordedRequest[] =>
    partner.requests.filter(
      (r) =>
        r.method === 'POST' &&
        r.path === '/orders' &&
        (r.body as { reference?: string }).reference === reference,
    );

  it('delivers the order with the right body, credentials and idempotency header, and logs the call', async () => {
    const { event } = await connect();
    const jobId = await order(event, 'A-1');
    const done = await finished(jobId);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(done.result).toMatchObject({ status: 201, body: { reference: 'A-1', status: 'received' } });
    const [sent] = ordersPosted('A-1');
    expect(sent.body).toEqual({ reference: 'A-1', lines: [{ sku: 'X-1', qty: 2 }] });
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent.headers['idempotency-key']).toBe(jobId);
    expect(done.logs.map((log) => log.message)).toEqual([
      expect.stringMatching(new RegExp(`^POST ${partner.url}/orders -> 201 in \\d+ ms$`)),
    ]);
  });

  it('retries a 500 with the same idempotency key, and succeeds', async () => {
    const { event } = await connect();
    partner.answerNext({ kind: 'status', status: 500 });
    const done = await finished(await order(event, 'A-2'));
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    // The failed attempt was answered by the switch before the order route saw it.
    const keys = partner.requests
      .filter((r) => r.path === '/orders')
      .slice(-2)
      .map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([done.id, done.id]);
  });

  it('waits out a 429 with Retry-After: 2 before trying again', async () => {
    const { event } = await connect();
    partner.answerNext({ kind: 'status', status: 429, retryAfter: 2 });
    const done = await finished(await order(event, 'A-3'));
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    const [first, second] = partner.requests.filter((r) => r.path === '/orders').slice(-2);
    const waitedMs = second.at.getTime() - first.at.getTime();
    expect(waitedMs).toBeGreaterThanOrEqual(1900);
    expect(waitedMs).toBeLessThan(5000);
  });

  it('kills the job on 401, marks the connection and announces connection.problem once', async () => {
    const { id, event } = await connect('not-the-partner-token-0000');
    const done = await finished(await order(event, 'A-4'));
    expect(done).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'AUTH' } });
    const connection = (await t.http().get(`/connections/${id}`).set(admin).expect(200)).body;
    expect(connection).toMatchObject({ state: 'bad_authentication', lastError: { code: 'AUTH' } });
    // Pausing and resuming does not clear it; only new credentials do.
    await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
    const resumed = await t.http().post(`/connections/${id}/resume`).set(admin).expect(200);
    expect(resumed.body.state).toBe('bad_authentication');
    const problems = await t.http().get('/events?name=connection.problem').set(admin).expect(200);
    const mine = (problems.body.items as { data: { connectionId: string } }[]).filter(
      (e) => e.data.connectionId === id,
    );
    expect(mine).toHaveLength(1);

    // The next job is refused without calling the partner.
    const calls = partner.requests.length;
    const next = await finished(await order(event, 'A-5'));
    expect(next).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
    expect(next.lastError?.message).toContain('replace its credentials');
    expect(partner.requests).toHaveLength(calls);
  });

  it('refuses to call through a paused connection', async () => {
    const { id, event } = await connect();
    await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
    const calls = partner.requests.length;
    const done = await finished(await order(event, 'A-6'));
    expect(done).toMatchObject({ status: 'dead', lastError: { code: 'PERMANENT' } });
    expect(done.lastError?.message).toContain('is paused');
    expect(partner.requests).toHaveLength(calls);
  });

  it('refuses an action template that reads anything but input, naming the field', async () => {
    const refused = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: 'bad template',
        config: {
          baseUrl: partner.url,
          actions: { send: { method: 'POST', path: '/orders', body: '{{data.x}}' } },
        },
        credentials: { type: 'none' },
      })
      .expect(422);
    expect(refused.body.details).toEqual([
      { path: '/config/actions/send/body', message: '"{{data.x}}" must start with one of input' },
    ]);
  });

  it('counts partner calls by outcome and connections by state in /metrics', async () => {
    const metrics = (await t.http().get('/metrics').set(admin).expect(200)).text;
    const value = (line: string) =>
      Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(value('junction_provider_calls_total{provider="http",code="OK"}')).toBeGreaterThanOrEqual(3);
    expect(value('junction_provider_calls_total{provider="http",code="TEMPORARY"}')).toBe(1);
    expect(value('junction_provider_calls_total{provider="http",code="RATE_LIMITED"}')).toBe(1);
    expect(value('junction_provider_calls_total{provider="http",code="AUTH"}')).toBe(1);
    expect(value('junction_connections{provider="http",state="bad_authentication"}')).toBe(1);
    expect(value('junction_connections{provider="http",state="paused"}')).toBe(1);
    expect(metrics).toContain('junction_provider_call_duration_seconds_bucket{le="0.01",provider="http"}');
  });

  it('waits a second, not nothing, when a 429 says Retry-After: 0, so the job keeps its attempts', async () => {
    const { event } = await connect();
    partner.answerNext({ kind: 'status', status: 429, retryAfter: 0 }, 3);
    const done = await finished(await order(event, 'A-3b'));
    expect(done).toMatchObject({ status: 'succeeded', attempt: 4 });
    const tries = partner.requests.filter((r) => r.path === '/orders').slice(-4);
    for (let i = 1; i < tries.length; i++) {
      expect(tries[i].at.getTime() - tries[i - 1].at.getTime()).toBeGreaterThanOrEqual(900);
    }
  });

  it('masks the credential in the result when the partner echoes it back', async () => {
    const { event } = await connect();
    partner.answerNext({
      kind: 'status',
      status: 200,
      body: { youSent: `Bearer ${TOKEN}`, asQuery: `token=${encodeURIComponent(TOKEN)}` },
    });
    const done = await finished(await order(event, 'A-7'));
    expect(done).toMatchObject({ status: 'succeeded', result: { status: 200 } });
    expect(done.result).toEqual({ status: 200, body: { youSent: 'Bearer ***', asQuery: 'token=***' } });
  });

  it('sends an action query value that is an object or a list as JSON', async () => {
    const { id } = await connect();
    await t
      .http()
      .patch(`/connections/${id}`)
      .set(admin)
      .send({
        config: {
          baseUrl: partner.url,
          actions: {
            find: {
              method: 'GET',
              path: '/shipments',
              query: { filter: '{{input.filter}}', ids: '{{input.ids}}', status: 'open' },
            },
          },
        },
      })
      .expect(200);
    const submitted = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({
        type: 'http.action',
        payload: { connectionId: id, action: 'find', input: { filter: { since: 5 }, ids: [1, 2] } },
      })
      .expect(201);
    await finished(submitted.body.id as string);
    const [sent] = partner.requests.filter((r) => r.path === '/shipments').slice(-1);
    expect(sent.query).toEqual({ filter: '{"since":5}', ids: '[1,2]', status: 'open' });
  });

  /** A connection whose actions are the templates below, and a way to run one with an input. */
  async function templated(): Promise<(action: string, input: unknown) => Promise<JobBody>> {
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: `templates${++serial}`,
        config: {
          baseUrl: partner.url,
          actions: {
            'get-order': { method: 'GET', path: '/orders/{{input.orderId}}' },
            'get-line': { method: 'GET', path: '/orders/{{input.orderId}}/lines/n-{{input.line}}' },
            search: {
              method: 'GET',
              path: '/shipments',
              query: { q: '{{input.q}}', none: '{{input.missing}}' },
            },
            'send-order': {
              method: 'POST',
              path: '/orders',
              headers: { 'X-Order': '{{input.ref}}' },
              body: {
                reference: 'ref-{{input.id}}',
                lines: '{{input.lines}}',
                count: '{{input.count}}',
                missing: '{{input.missing}}',
                note: 'note {{input.missing}}.',
              },
            },
          },
        },
        credentials: { type: 'bearer', token: TOKEN },
      })
      .expect(201);
    const connectionId = created.body.id as string;
    return async (action, input) => {
      const submitted = await t
        .http()
        .post('/jobs')
        .set(admin)
        .send({ type: 'http.action', payload: { connectionId, action, input } })
        .expect(201);
      return finished(submitted.body.id as string);
    };
  }

  it('sends a path value from the input as one encoded segment, which adds no segment, query or fragment', async () => {
    const run = await templated();
    const sent: { path: string; query: unknown }[] = [];
    for (const orderId of ['1/cancel', '../admin', 'x?debug=1', 'a#b', '%2e%2e', 'ünï code', 'x\ud800']) {
      const calls = partner.requests.length;
      await run('get-order', { orderId });
      expect(partner.requests).toHaveLength(calls + 1);
      const [request] = partner.requests.slice(-1);
      sent.push({ path: request.path, query: request.query });
    }
    expect(sent).toEqual([
      { path: '/orders/1%2Fcancel', query: {} },
      { path: '/orders/..%2Fadmin', query: {} },
      { path: '/orders/x%3Fdebug%3D1', query: {} },
      { path: '/orders/a%23b', query: {} },
      { path: '/orders/%252e%252e', query: {} },
      { path: '/orders/%C3%BCn%C3%AF%20code', query: {} },
      { path: '/orders/x%EF%BF%BD', query: {} },
    ]);
  });

  it('fails the job without calling the partner when a path value comes out empty, "." or ".."', async () => {
    const run = await templated();
    const calls = partner.requests.length;
    for (const input of [{}, { orderId: '' }, { orderId: '.' }, { orderId: '..' }]) {
      const done = await run('get-order', input);
      expect(done).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(done.lastError?.message).toContain('the path of action get-order');
    }
    // Inside a longer segment a value is only text, and a literal part of the path stays as written.
    const line = await run('get-line', { orderId: 'o 1', line: '..' });
    expect(line).toMatchObject({ status: 'dead', lastError: { code: 'NOT_FOUND' } });
    expect(partner.requests).toHaveLength(calls + 1);
    expect(partner.requests.at(-1)?.path).toBe('/orders/o%201/lines/n-..');
  });

  it('fails the job at once, naming the header, when a header value holds CR, LF or NUL', async () => {
    const run = await templated();
    const calls = partner.requests.length;
    for (const ref of ['A\r\nX-Admin: yes', 'A\nB', 'A\u0000B']) {
      const done = await run('send-order', { id: '1', ref });
      expect(done).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(done.lastError?.message).toContain('header X-Order');
    }
    expect(partner.requests).toHaveLength(calls);
  });

  it('encodes query values holding & and =, and leaves out missing ones', async () => {
    const run = await templated();
    await run('search', { q: 'a&b=c d' });
    const [request] = partner.requests.slice(-1);
    expect(request.query).toEqual({ q: 'a&b=c d' });
  });

  it('keeps the types of whole body values, writes mixed ones as text and sends missing ones as null', async () => {
    const run = await templated();
    const done = await run('send-order', { id: 7, ref: 'r', lines: [{ sku: 'X' }], count: 3 });
    expect(done).toMatchObject({ status: 'succeeded' });
    const [request] = partner.requests.slice(-1);
    expect(request.headers['x-order']).toBe('r');
    expect(request.body).toEqual({
      reference: 'ref-7',
      lines: [{ sku: 'X' }],
      count: 3,
      missing: null,
      note: 'note .',
    });
  });

  it('keeps the token out of job results, logs, errors and events', async () => {
    const jobs = await t.http().get('/jobs?type=http.action&limit=200').set(admin).expect(200);
    const details = await Promise.all(
      (jobs.body.items as { id: string }[]).map((j) => t.http().get(`/jobs/${j.id}`).set(admin).expect(200)),
    );
    expect(details.length).toBeGreaterThanOrEqual(6);
    for (const detail of details) expect(detail.text).not.toContain(TOKEN);
    const events = await t.http().get('/events?limit=200').set(admin).expect(200);
    expect(events.text).not.toContain(TOKEN);
  });
});
