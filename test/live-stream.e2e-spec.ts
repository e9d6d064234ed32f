import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { FakeNetwork } from './fakes/network.js';
import { WebhookReceiver } from './fakes/webhook-receiver.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') === true;
const mode = onPostgres ? 'PostgreSQL' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'network-token-0123456789abcdef';

interface Message {
  event: string;
  data: Record<string, unknown>;
}

/** A server-sent event stream read as it arrives, as a browser's EventSource would. */
class StreamReader {
  readonly messages: Message[] = [];
  private readonly controller = new AbortController();
  ended = false;

  private constructor(readonly response: Response) {}

  static async open(url: string, headers: Record<string, string>): Promise<StreamReader> {
    const reader = new StreamReader(await fetch(url, { headers }));
    if (reader.response.ok) void reader.read();
    return reader;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .filter((line) => line.startsWith(`${name}: `))
              .map((line) => line.slice(name.length + 2))
              .join('\n');
          if (field('event')) this.messages.push({ event: field('event'), data: JSON.parse(field('data')) });
        }
      }
    } catch {
      // Aborted by close().
    }
    this.ended = true;
  }

  /** Waits for a message that `accept` takes. */
  next(accept: (message: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    return waitFor(
      () => Promise.resolve(this.messages.find(accept)),
      (found) => found !== undefined,
      timeoutMs,
    ) as Promise<Message>;
  }

  close(): void {
    this.controller.abort();
    void this.response.body?.cancel().catch(() => undefined);
  }
}

describe(`GET /stream (${mode})`, () => {
  let t: TestApp;
  let base: string;
  const streams: StreamReader[] = [];
  const open = async (query: string, headers: Record<string, string> = admin) => {
    const reader = await StreamReader.open(`${base}/stream${query}`, headers);
    streams.push(reader);
    return reader;
  };

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule], env: { JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true' } });
    await t.app.listen(0, '127.0.0.1');
    base = await t.app.getUrl();
  });
  afterEach(() => streams.splice(0).forEach((s) => s.close()));
  afterAll(() => t.close());

  it('pushes job changes as they commit, the latest state of each job', async () => {
    const stream = await open('?topics=jobs');
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toContain('text/event-stream');
    expect(await stream.next((m) => m.event === 'ready')).toEqual({
      event: 'ready',
      data: { topics: ['jobs'] },
    });

    const job = (
      await t
        .http()
        .post('/jobs')
        .set(admin)
        .send({ type: 'test.echo', payload: { n: 1 } })
        .expect(201)
    ).body as { id: string };
    const done = await stream.next((m) => m.data.id === job.id && m.data.status === 'succeeded');
    expect(done).toEqual({
      event: 'jobs',
      data: { id: job.id, type: 'test.echo', queue: 'default', status: 'succeeded', attempt: 1 },
    });

    const dead = (
      await t
        .http()
        .post('/jobs')
        .set(admin)
        .send({ type: 'test.flaky', payload: { failUntil: 2 }, maxAttempts: 1 })
        .expect(201)
    ).body as { id: string };
    await stream.next((m) => m.data.id === dead.id && m.data.status === 'dead');
    await t
      .http()
      .post('/jobs/retry')
      .set(admin)
      .send({ filter: { status: 'dead', type: 'test.flaky' } })
      .expect(200);
    await stream.next((m) => m.data.id === dead.id && m.data.status === 'succeeded' && m.data.attempt === 2);
  });

  it('moves a sync run’s counters page by page, and shows an account only its own runs', async () => {
    const network = await FakeNetwork.start(TOKEN);
    try {
      for (let n = 1; n <= 25; n++) network.put(`p-${n}`, `Photo ${n}`, n * 100);
      // Each page waits, so each page's counters are announced on their own.
      network.delayMs = 400;
      const viewer = await keyWithRole(t, 'viewer');
      const viewerStream = await open('?topics=sync-runs', viewer);
      const stream = await open('?topics=sync-runs');
      await stream.next((m) => m.event === 'ready');
      await viewerStream.next((m) => m.event === 'ready');
      const accountId = ((await t.http().get('/accounts/me').set(admin).expect(200)).body as { id: string })
        .id;
      const connection = (
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'http',
            name: 'network',
            config: {
              baseUrl: network.url,
              rateLimit: { requests: 1000, perMs: 1000 },
              streams: {
                photos: {
                  path: '/photos',
                  items: 'data',
                  id: 'id',
                  cursor: 'updatedAt',
                  cursorParam: 'updated_since',
                  nextPage: { from: 'next', param: 'page' },
                },
              },
            },
            credentials: { type: 'bearer', token: TOKEN },
          })
          .expect(201)
      ).body as { id: string };
      const sync = (
        await t
          .http()
          .post(`/accounts/${accountId}/syncs`)
          .set(admin)
          .send({ connections: [connection.id] })
          .expect(202)
      ).body as { runs: { id: string }[] };
      const runId = sync.runs[0].id;
      await stream.next((m) => m.data.id === runId && m.data.status === 'succeeded');
      const seen = stream.messages.filter((m) => m.data.id === runId).map((m) => m.data.itemsSeen);
      // Counters moved while it ran: some were sent before the last page.
      expect(seen).toEqual(expect.arrayContaining([10, 20, 25]));
      expect(seen).toEqual([...seen].sort((a, b) => Number(a) - Number(b)));
      expect(stream.messages.find((m) => m.data.id === runId)!.data).toMatchObject({
        accountId,
        connectionId: connection.id,
        type: 'photos',
      });
      // The viewer's account is another: its stream carried none of it.
      expect(viewerStream.messages.filter((m) => m.event === 'sync-runs')).toEqual([]);
    } finally {
      await network.close();
    }
  });

  it('shows an admin each webhook delivery after its attempt', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const stream = await open('?topics=deliveries');
      await stream.next((m) => m.event === 'ready');
      const endpoint = (
        await t
          .http()
          .post('/webhook-endpoints')
          .set(admin)
          .send({ url: `${receiver.url}/hook`, eventPatterns: ['order.*'] })
          .expect(201)
      ).body as { id: string };
      const { eventId } = (
        await t
          .http()
          .post('/events')
          .set(admin)
          .send({ name: 'order.created', source: 'shop', data: {} })
          .expect(202)
      ).body as { eventId: string };
      const delivered = await stream.next((m) => m.data.eventId === eventId);
      expect(delivered).toMatchObject({
        event: 'deliveries',
        data: {
          endpointId: endpoint.id,
          eventName: 'order.created',
          status: 'succeeded',
          attempts: 1,
          statusCode: 200,
        },
      });
    } finally {
      await receiver.close();
    }
  });

  it('refuses unknown topics, topics beyond the caller’s role, and callers without a key', async () => {
    const unknown = await open('?topics=jobs,weather');
    expect(unknown.response.status).toBe(400);
    expect(((await unknown.response.json()) as { error: string }).error).toBe('UNKNOWN_TOPIC');
    const viewer = await keyWithRole(t, 'viewer');
    const forbidden = await open('?topics=deliveries', viewer);
    expect(forbidden.response.status).toBe(403);
    expect(((await forbidden.response.json()) as { error: string }).error).toBe('TOPIC_FORBIDDEN');
    // Without topics, a viewer gets the ones it may read.
    const all = await open('', viewer);
    expect(await all.next((m) => m.event === 'ready')).toMatchObject({
      data: { topics: ['jobs', 'sync-runs'] },
    });
    expect((await open('?topics=jobs', {})).response.status).toBe(401);
  });
});

describe(`GET /stream at shutdown (${mode})`, () => {
  it('ends open streams, so the server closes', async () => {
    const t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    const stream = await StreamReader.open(`${await t.app.getUrl()}/stream`, admin);
    await stream.next((m) => m.event === 'ready');
    await t.close();
    await waitFor(
      () => Promise.resolve(stream.ended),
      (ended) => ended,
    );
  });
});

/** Changes cross processes through PostgreSQL: a worker's commit reaches the stream of the API process. */
(onPostgres ? describe : describe.skip)('GET /stream across processes (PostgreSQL)', () => {
  it('shows a job run by a worker process in the API process’s stream', async () => {
    const database = await TestDatabase.create();
    const api = await startTestApp({ database, env: { JUNCTION_ROLES: 'api' } });
    // A worker-only process serves no HTTP: it is started and left to claim the job.
    const worker = spawn(process.execPath, [path.resolve('dist/src/main.js')], {
      env: { PATH: process.env.PATH ?? '', ...database.env({ JUNCTION_ROLES: 'worker' }) },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => worker.on('exit', resolve));
    try {
      await api.app.listen(0, '127.0.0.1');
      const stream = await StreamReader.open(`${await api.app.getUrl()}/stream?topics=jobs`, admin);
      await stream.next((m) => m.event === 'ready');
      // A built-in job type, which the worker process (without the test modules) runs.
      const job = (
        await api
          .http()
          .post('/jobs')
          .set(admin)
          .send({ type: 'connections.reseal', payload: {} })
          .expect(201)
      ).body as { id: string };
      await stream.next((m) => m.data.id === job.id && m.data.status === 'succeeded', 20_000);
      stream.close();
    } finally {
      worker.kill('SIGTERM');
      await exited;
      await api.close();
      await database.drop();
    }
  });
});
