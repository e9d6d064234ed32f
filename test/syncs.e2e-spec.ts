import { DataSource } from 'typeorm';
import { FakeNetwork, photoBytes } from './fakes/network.js';
import { FakePhotoLibrary } from './fakes/photo-library.js';
import { startFakeWebdav } from './fakes/webdav.js';
import type { FakeWebdav } from './fakes/webdav.js';
import { ADMIN_KEY, bearer, keyWithRole, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'network-token-0123456789abcdef';

interface Run {
  id: string;
  itemsDeleted: number;
  connectionId: string;
  type: string;
  status: string;
  itemsSeen: number;
  itemsAdded: number;
  itemsUpdated: number;
  checkpointBefore: string | null;
  checkpointAfter: string | null;
  error: { code: string; message: string } | null;
  jobId: string | null;
}

interface Sync {
  id: string;
  status: string;
  runs: Run[];
}

interface RecordBody {
  externalId: string;
  title: string | null;
  size: number | null;
  lastAction: string;
  data: { title: string };
}

/** A stream of a fake network's collection: pages by `next`, resumes from `updated_since`. */
function pagedStream(path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    path,
    items: 'data',
    id: 'id',
    cursor: 'updatedAt',
    cursorParam: 'updated_since',
    nextPage: { from: 'next', param: 'page' },
    ...extra,
  };
}

describe(`syncs (${mode})`, () => {
  let t: TestApp;
  let network: FakeNetwork;
  let accountId: string;
  let connectionId: string;

  beforeAll(async () => {
    network = await FakeNetwork.start(TOKEN);
    for (let n = 1; n <= 25; n++) network.put(`p-${n}`, `Photo ${n}`, n * 100);
    t = await startTestApp();
    accountId = ((await t.http().get('/accounts/me').set(admin).expect(200)).body as { id: string }).id;
    connectionId = await connect('network');
  });
  afterAll(async () => {
    await t.close();
    await network.close();
  });

  /** Creates a connection of the admin's account; its id. */
  const createConnection = async (body: Record<string, unknown>): Promise<string> =>
    ((await t.http().post('/connections').set(admin).send(body).expect(201)).body as { id: string }).id;
  /** An http connection to a fake network, with these streams and settings. */
  const httpConnection = (
    name: string,
    baseUrl: string,
    streams: Record<string, object>,
    settings?: Record<string, unknown>,
  ): Promise<string> =>
    createConnection({
      provider: 'http',
      name,
      config: { baseUrl, rateLimit: { requests: 1000, perMs: 1000 }, streams },
      credentials: { type: 'bearer', token: TOKEN },
      ...(settings ? { settings } : {}),
    });
  /** An http connection whose `photos` stream is the fake network's paged photos. */
  const connect = (name: string, path = '/photos', baseUrl = network.url): Promise<string> =>
    httpConnection(name, baseUrl, { photos: pagedStream(path, { title: 'title', size: 'size' }) });

  const start = async (body: object = { connections: [connectionId] }): Promise<Sync> =>
    (await t.http().post(`/accounts/${accountId}/syncs`).set(admin).send(body).expect(202)).body as Sync;
  const settled = (id: string): Promise<Sync> =>
    waitFor(
      async () => (await t.http().get(`/syncs/${id}`).set(admin).expect(200)).body as Sync,
      (sync) => sync.status !== 'running',
    );
  const syncNow = async (): Promise<Run> => (await settled((await start()).id)).runs[0];
  const records = (query: Record<string, string> = {}) => recordsOf(connectionId, query);
  const recordsOf = async (
    connectionId: string,
    query: Record<string, string> = {},
  ): Promise<RecordBody[]> => {
    const all: RecordBody[] = [];
    let cursor: string | undefined;
    do {
      const page = (
        await t
          .http()
          .get(`/connections/${connectionId}/records`)
          .query({ type: 'photos', limit: '10', ...query, ...(cursor ? { cursor } : {}) })
          .set(admin)
          .expect(200)
      ).body as { items: RecordBody[]; nextCursor: string | null };
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  };

  it('stores every item on a first sync, and nothing new on a second over unchanged data', async () => {
    const first = await syncNow();
    expect(first).toMatchObject({
      status: 'succeeded',
      type: 'photos',
      itemsSeen: 25,
      itemsAdded: 25,
      itemsUpdated: 0,
      checkpointBefore: null,
      checkpointAfter: network.photos.get('p-25')!.updatedAt,
    });
    const stored = await records();
    expect(stored.map((r) => r.externalId).sort()).toEqual([...network.photos.keys()].sort());
    expect(stored.find((r) => r.externalId === 'p-7')).toMatchObject({
      title: 'Photo 7',
      size: 700,
      lastAction: 'added',
    });

    const before = network.requests.length;
    const second = await syncNow();

    expect(second).toMatchObject({ status: 'succeeded', itemsAdded: 0, itemsUpdated: 0 });
    // It asked only for what changed since the checkpoint: the last photo, seen again.
    expect(second.checkpointBefore).toBe(first.checkpointAfter);
    expect(network.requests.slice(before).map((r) => r.query.updated_since)).toEqual([first.checkpointAfter]);
    expect(second.itemsSeen).toBe(1);
    expect(await records()).toHaveLength(25);
  });

  it('updates changed items and adds new ones', async () => {
    network.put('p-3', 'Photo 3, cropped', 300);
    network.put('p-9', 'Photo 9, renamed', 900);
    network.put('p-26', 'Photo 26', 2600);

    const run = await syncNow();

    expect(run).toMatchObject({ status: 'succeeded', itemsAdded: 1, itemsUpdated: 2 });
    const updated = await records({ changes: 'updated' });
    expect(updated.map((r) => r.externalId).sort()).toEqual(['p-3', 'p-9']);
    const one = (
      await t
        .http()
        .get(`/connections/${connectionId}/records/p-9`)
        .query({ type: 'photos' })
        .set(admin)
        .expect(200)
    ).body as RecordBody;
    expect(one).toMatchObject({
      title: 'Photo 9, renamed',
      lastAction: 'updated',
      data: { title: 'Photo 9, renamed' },
    });
    await t.http().get(`/connections/${connectionId}/records/p-404`).set(admin).expect(404);
  });

  it('serves repeated record reads from its cache, which a sync’s write refreshes', async () => {
    const read = async () =>
      (
        (
          await t
            .http()
            .get(`/connections/${connectionId}/records/p-11`)
            .query({ type: 'photos' })
            .set(admin)
            .expect(200)
        ).body as RecordBody
      ).title;
    expect(await read()).toBe('Photo 11');
    // Changed behind Junction's back: the cached copy answers (PostgreSQL without Redis caches
    // nothing, as no other process could tell it of a change).
    const cached = t.database.kind !== 'postgres' || process.env.REDIS_URL !== undefined;
    const param = t.database.kind === 'postgres' ? '$1' : '?';
    await t.app
      .get(DataSource)
      .query(
        `UPDATE record SET title = 'changed in the table' WHERE connection_id = ${param} AND external_id = 'p-11'`,
        [connectionId],
      );
    expect(await read()).toBe(cached ? 'Photo 11' : 'changed in the table');

    network.put('p-11', 'Photo 11, retouched');
    expect(await syncNow()).toMatchObject({ status: 'succeeded', itemsUpdated: 1 });

    expect(await read()).toBe('Photo 11, retouched');
  });

  it('puts back the checkpoint a past run started from, so the next run reads from there again', async () => {
    const before = await syncNow();
    network.put('p-27', 'Photo 27');
    const moved = await syncNow();
    expect(moved.checkpointBefore).toBe(before.checkpointAfter);

    const restored = await t
      .http()
      .post(`/connections/${connectionId}/syncs/checkpoint`)
      .set(admin)
      .send({ type: 'photos', runId: before.id })
      .expect(200);
    expect(restored.body).toEqual({ type: 'photos', checkpoint: before.checkpointBefore });
    const again = await syncNow();

    expect(again.checkpointBefore).toBe(before.checkpointBefore);
    await t
      .http()
      .post(`/connections/${connectionId}/syncs/checkpoint`)
      .set(admin)
      .send({ type: 'photos', runId: '019abc12-3def-7456-89ab-cdef01234567' })
      .expect(422);
  });

  it('syncs every content type of a connection, one run each', async () => {
    for (const n of [1, 2, 3]) network.post(`post-${n}`, `Post ${n}`);
    const feed = await httpConnection('feed', network.url, {
      photos: pagedStream('/photos'),
      posts: pagedStream('/posts'),
    });

    const sync = await settled((await start({ connections: [feed] })).id);

    expect(sync.status).toBe('succeeded');
    expect(sync.runs.map((run) => [run.type, run.itemsAdded])).toEqual([
      ['photos', network.photos.size],
      ['posts', 3],
    ]);
    const posts = await recordsOf(feed, { type: 'posts' });
    expect(posts.map((r) => (r.data as unknown as { text: string }).text)).toEqual([
      'Post 1',
      'Post 2',
      'Post 3',
    ]);
  });

  it('rides out a 429 and a 500 midway, resuming from its last page stored', async () => {
    const flaky = await FakeNetwork.start(TOKEN, 5);
    try {
      for (let n = 1; n <= 12; n++) flaky.put(`f-${n}`, `Flaky ${n}`);
      const flakyId = await connect('flaky', '/photos', flaky.url);
      // Page 1 is answered; asking for page 2 meets a 429, and once it is asked again a 500.
      flaky.failures.push(0, 429, 500);

      const run = (await settled((await start({ connections: [flakyId] })).id)).runs[0];

      expect(run).toMatchObject({ status: 'succeeded', itemsSeen: 12, itemsAdded: 12 });
      expect(await recordsOf(flakyId)).toHaveLength(12);
      // Pages 1 and 2 from the start; after each failure, page 2 again with the query the run started with.
      const asked = flaky.requests.map((r) => [r.query.updated_since ?? null, r.query.page ?? null]);
      expect(asked).toEqual([
        [null, null],
        [null, '5'],
        [null, '5'],
        [null, '5'],
        [null, '10'],
      ]);
    } finally {
      await flaky.close();
    }
  }, 30_000);

  describe('a run whose connection’s rate budget runs out midway', () => {
    /** A network of `items` photos, 2 a page, and an http connection to it allowed 3 calls a second. */
    const budgeted = async (
      name: string,
      items: number,
      stream: Record<string, unknown>,
    ): Promise<{ paged: FakeNetwork; id: string }> => {
      const paged = await FakeNetwork.start(TOKEN, 2);
      for (let n = 1; n <= items; n++) paged.put(`${name}-${n}`, `${name} ${n}`);
      const id = await createConnection({
        provider: 'http',
        name,
        config: { baseUrl: paged.url, rateLimit: { requests: 3, perMs: 1000 }, streams: { photos: stream } },
        credentials: { type: 'bearer', token: TOKEN },
      });
      return { paged, id };
    };
    const pagesAsked = (paged: FakeNetwork) => paged.requests.map((r) => r.query.page ?? null);
    const deferrals = async (run: Run) =>
      (
        (await t.http().get(`/jobs/${run.jobId}`).set(admin).expect(200)).body as {
          attempts: { outcome: string }[];
        }
      ).attempts.filter((a) => a.outcome === 'deferred').length;

    it('goes on at the page it had not read when its stream has no cursor, reading each page once', async () => {
      const { paged, id } = await budgeted('nocursor', 12, {
        path: '/photos',
        items: 'data',
        id: 'id',
        nextPage: { from: 'next', param: 'page' },
      });
      try {
        const run = (await settled((await start({ connections: [id] })).id)).runs[0];

        expect(run).toMatchObject({ status: 'succeeded', itemsSeen: 12, itemsAdded: 12 });
        expect(await recordsOf(id)).toHaveLength(12);
        expect(pagesAsked(paged)).toEqual([null, '2', '4', '6', '8', '10']);
        expect(await deferrals(run)).toBeGreaterThanOrEqual(1);
      } finally {
        await paged.close();
      }
    }, 30_000);

    it('goes on at the page it had not read with the query it started with, seeing each item once', async () => {
      const { paged, id } = await budgeted('cursored', 12, pagedStream('/photos'));
      try {
        const run = (await settled((await start({ connections: [id] })).id)).runs[0];

        expect(run).toMatchObject({
          status: 'succeeded',
          itemsSeen: 12,
          itemsAdded: 12,
          checkpointAfter: paged.photos.get('cursored-12')!.updatedAt,
        });
        expect(pagesAsked(paged)).toEqual([null, '2', '4', '6', '8', '10']);
        // The run started from no checkpoint: every page is asked for without one.
        expect(paged.requests.every((r) => r.query.updated_since === undefined)).toBe(true);
        expect(await deferrals(run)).toBeGreaterThanOrEqual(1);
      } finally {
        await paged.close();
      }
    }, 30_000);

    it('does not fail a run whose job is deferred on its last attempt: a deferral spends none', async () => {
      const { paged, id } = await budgeted('lastattempt', 20, pagedStream('/photos'));
      try {
        const sync = await start({ connections: [id] });
        // As if every other attempt had failed: each one left is the last, and each is deferred midway.
        const param = t.database.kind === 'postgres' ? '$1' : '?';
        await t.app
          .get(DataSource)
          .query(`UPDATE job SET max_attempts = 1 WHERE id = ${param}`, [sync.runs[0].jobId]);

        const run = (await settled(sync.id)).runs[0];

        expect(run).toMatchObject({ status: 'succeeded', itemsSeen: 20, itemsAdded: 20, error: null });
        expect(await deferrals(run)).toBeGreaterThanOrEqual(1);
      } finally {
        await paged.close();
      }
    }, 30_000);
  });

  describe('a run cut short, resumed at the page token it saved', () => {
    /**
     * A library of 6 photos synced once, then 10 more, and a sync of them whose second page meets
     * a 429 that says to come back in 2 seconds: the run stores its first page with the token of
     * the second, and `meanwhile` happens before its job tries again.
     */
    const cutShort = async (
      name: string,
      meanwhile: (
        library: FakePhotoLibrary,
        id: string,
        config: (pageSize: number) => object,
      ) => Promise<void>,
    ) => {
      const library = await FakePhotoLibrary.start(TOKEN);
      const config = (pageSize: number) => ({
        baseUrl: library.url,
        rateLimit: { requests: 1000, perMs: 1000 },
        streams: {
          photos: {
            path: '/photos',
            query: { page_size: pageSize },
            items: 'mediaItems',
            id: 'id',
            cursor: 'updatedAt',
            cursorParam: 'updated_since',
            nextPage: { from: 'nextPageToken', param: 'pageToken' },
          },
        },
      });
      try {
        for (let n = 1; n <= 6; n++) library.put(`${name}-${n}`, `Photo ${n}`);
        const id = await createConnection({
          provider: 'http',
          name,
          config: config(4),
          credentials: { type: 'bearer', token: TOKEN },
        });
        const first = (await settled((await start({ connections: [id] })).id)).runs[0];
        expect(first).toMatchObject({ status: 'succeeded', itemsAdded: 6 });
        for (let n = 7; n <= 16; n++) library.put(`${name}-${n}`, `Photo ${n}`);
        const before = library.requests.length;
        library.failures.push(0, { status: 429, retryAfterSeconds: 2 });

        const sync = await start({ connections: [id] });
        // The first page is stored with the second one's token, whose request met the 429.
        const stored = await waitFor(
          async () =>
            (await t.http().get(`/sync-runs/${sync.runs[0].id}`).set(admin).expect(200)).body as Run,
          (run) => run.itemsSeen === 4 && library.requests.length === before + 2,
          15_000,
          20,
        );
        await meanwhile(library, id, config);
        const asked = library.requests.length;
        const run = (await settled(sync.id)).runs[0];
        // The run ends inside its job's attempt; the attempt's log lines are written with its outcome.
        const job = await waitFor(
          async () =>
            (await t.http().get(`/jobs/${run.jobId}`).set(admin).expect(200)).body as {
              status: string;
              logs: { message: string }[];
            },
          (found) => found.status === 'succeeded' || found.status === 'dead',
          10_000,
          20,
        );
        return {
          library,
          id,
          first,
          stored,
          run,
          /** What the run asked for after `meanwhile`: its checkpoint, page size and token. */
          resumed: library.requests.slice(asked).map((r) => r.query),
          logs: job.logs.map((line) => line.message),
        };
      } catch (error) {
        await library.close();
        throw error;
      }
    };

    it('reads the pass again from its first page when the partner says the saved token expired', async () => {
      const { library, id, first, run, resumed, logs } = await cutShort('expiring', (library) => {
        library.expireTokens();
        return Promise.resolve();
      });
      try {
        expect(run).toMatchObject({ status: 'succeeded', itemsAdded: 10, itemsUpdated: 0, error: null });
        // The saved token once (410 Gone), then the same query from its first page, and on.
        const since = first.checkpointAfter!;
        expect(resumed).toEqual([
          { updated_since: since, page_size: '4', pageToken: 'tok-2' },
          { updated_since: since, page_size: '4' },
          { updated_since: since, page_size: '4', pageToken: 'tok-3' },
          { updated_since: since, page_size: '4', pageToken: 'tok-4' },
        ]);
        const stored = await recordsOf(id);
        expect(stored).toHaveLength(16);
        expect(new Set(stored.map((r) => r.externalId)).size).toBe(16);
        expect(logs.filter((line) => line.includes('page token'))).toEqual([expect.stringContaining('410')]);
      } finally {
        await library.close();
      }
    }, 30_000);

    it('does not use the saved token once the stream’s config changed, reading from the checkpoint', async () => {
      const { library, id, stored, run, resumed, logs } = await cutShort(
        'reconfigured',
        async (library, id, config) => {
          await t
            .http()
            .patch(`/connections/${id}`)
            .set(admin)
            .send({ config: config(3) })
            .expect(200);
        },
      );
      try {
        expect(run).toMatchObject({ status: 'succeeded', error: null });
        // The token saved for page size 4 is never sent again: the new query starts at the checkpoint stored.
        expect(stored.checkpointAfter).toBe(library.photos.get('reconfigured-9')!.updatedAt);
        expect(resumed[0]).toEqual({ updated_since: stored.checkpointAfter, page_size: '3' });
        expect(resumed.every((query) => query.page_size === '3' && query.pageToken !== 'tok-2')).toBe(true);
        const records = await recordsOf(id);
        expect(records).toHaveLength(16);
        expect(logs.filter((line) => line.includes('config changed'))).toHaveLength(1);
      } finally {
        await library.close();
      }
    }, 30_000);

    it('ends the run failed when the partner refuses a token got in the same attempt, reading nothing again', async () => {
      const library = await FakePhotoLibrary.start(TOKEN, 4);
      try {
        for (let n = 1; n <= 10; n++) library.put(`fresh-${n}`, `Photo ${n}`);
        const id = await createConnection({
          provider: 'http',
          name: 'fresh-token',
          config: {
            baseUrl: library.url,
            rateLimit: { requests: 1000, perMs: 1000 },
            streams: {
              photos: {
                path: '/photos',
                items: 'mediaItems',
                id: 'id',
                cursor: 'updatedAt',
                cursorParam: 'updated_since',
                nextPage: { from: 'nextPageToken', param: 'pageToken' },
              },
            },
          },
          credentials: { type: 'bearer', token: TOKEN },
        });
        library.failures.push(0, { status: 410 });

        const run = (await settled((await start({ connections: [id] })).id)).runs[0];

        expect(run).toMatchObject({ status: 'failed', itemsSeen: 4, error: { code: 'NOT_FOUND' } });
        expect(library.requests.map((r) => r.query.pageToken ?? null)).toEqual([null, 'tok-1']);
      } finally {
        await library.close();
      }
    }, 30_000);
  });

  it('never shows as running a run whose job is dead', async () => {
    const run = await syncNow();
    // What a worker that died on the job's last attempt leaves: the job dead, the run's row running.
    const write = (sql: string, params: unknown[]) => {
      let n = 0;
      const numbered = t.database.kind === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
      return t.app.get(DataSource).query(numbered, params);
    };
    await write(`UPDATE sync_run SET status = 'running', finished_at = NULL WHERE id = ?`, [run.id]);
    await write(`UPDATE job SET status = 'dead', last_error = ? WHERE id = ?`, [
      JSON.stringify({ code: 'TIMEOUT', message: 'the job ran out of time' }),
      run.jobId,
    ]);

    const shown = (await t.http().get(`/sync-runs/${run.id}`).set(admin).expect(200)).body as Run;
    expect(shown).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    const running = (
      await t
        .http()
        .get(`/accounts/${accountId}/sync-runs`)
        .query({ status: 'running' })
        .set(admin)
        .expect(200)
    ).body as { items: Run[] };
    expect(running.items.map((r) => r.id)).not.toContain(run.id);
    // The next sync records how it ended and starts a new run.
    const next = await start();
    expect(next.runs[0].id).not.toBe(run.id);
    expect((await settled(next.id)).runs[0].status).toBe('succeeded');
  });

  it('starts one run when two requests come at once, and answers both with it', async () => {
    network.delayMs = 300;
    try {
      const [a, b] = await Promise.all([start(), start()]);
      expect(a.runs[0].id).toBe(b.runs[0].id);
      const [doneA, doneB] = [await settled(a.id), await settled(b.id)];
      expect(doneA.runs.map((r) => r.id)).toEqual([a.runs[0].id]);
      expect(doneB.runs.map((r) => r.id)).toEqual([a.runs[0].id]);
      expect(doneB.status).toBe('succeeded');
    } finally {
      network.delayMs = 0;
    }
  });

  it('shows a run whose job was cancelled as cancelled, and lets the next one start', async () => {
    network.delayMs = 3000;
    let sync: Sync;
    try {
      sync = await start();
      const run = await waitFor(
        async () => (await t.http().get(`/sync-runs/${sync.runs[0].id}`).set(admin).expect(200)).body as Run,
        (r) => r.status === 'running',
      );
      await t.http().post(`/jobs/${run.jobId}/cancel`).set(admin).expect(200);
    } finally {
      network.delayMs = 0;
    }

    const cancelled = (await t.http().get(`/sync-runs/${sync.runs[0].id}`).set(admin).expect(200))
      .body as Run;
    expect(cancelled.status).toBe('cancelled');
    expect((await settled(sync.id)).status).toBe('cancelled');
    const next = await start();
    expect(next.runs[0].id).not.toBe(sync.runs[0].id);
    expect((await settled(next.id)).runs[0].status).toBe('succeeded');
  });

  it('ends a run failed, with the partner’s error, when retrying cannot help; ten in a row pause its syncs', async () => {
    const broken = await connect('broken', '/nowhere');
    const problems = async () =>
      (
        (await t.http().get('/events').query({ name: 'sync.problem' }).set(admin).expect(200)).body as {
          items: { data: { connectionId: string; failedRuns: number; paused: boolean } }[];
        }
      ).items.filter((event) => event.data.connectionId === broken);

    for (let n = 1; n <= 10; n++) {
      const done = await settled((await start({ connections: [broken] })).id);
      expect(done.status).toBe('failed');
      expect(done.runs[0]).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
      expect(done.runs[0].error!.message).toContain('404');
      if (n === 9) expect(await problems()).toHaveLength(0);
    }

    expect((await problems()).map((event) => event.data)).toEqual([
      expect.objectContaining({ failedRuns: 10, paused: true }),
    ]);
    const connection = (await t.http().get(`/connections/${broken}`).set(admin).expect(200)).body as {
      syncsPausedAt: string | null;
    };
    expect(connection.syncsPausedAt).not.toBeNull();
    // Paused: a sync asked for waits instead of failing an eleventh time.
    const waiting = await start({ connections: [broken] });
    expect(waiting).toMatchObject({ status: 'paused', runs: [{ status: 'paused', jobId: null }] });
    const resumed = await t.http().post(`/connections/${broken}/syncs/resume`).set(admin).expect(200);
    expect(resumed.body).toEqual({ connectionId: broken, syncsPausedAt: null, runs: [waiting.runs[0].id] });
    expect((await settled(waiting.id)).runs[0]).toMatchObject({
      status: 'failed',
      error: { code: 'NOT_FOUND' },
    });
    expect(await problems()).toHaveLength(1);
  });

  it('shows per connection and type its last run, last success, records and snapshots, and the running runs', async () => {
    const status = (await t.http().get(`/accounts/${accountId}/sync-status`).set(admin).expect(200)).body as {
      items: {
        connectionId: string;
        type: string;
        state: string;
        records: number;
        lastSyncedAt: string | null;
        lastRun: Run | null;
        snapshots: { externalId: string; title: string }[];
      }[];
    };
    const entry = status.items.find((item) => item.connectionId === connectionId)!;
    expect(entry).toMatchObject({ type: 'photos', state: 'active', records: network.photos.size });
    expect(entry.lastRun?.status).toBe('succeeded');
    expect(entry.lastSyncedAt).not.toBeNull();
    expect(entry.snapshots).toHaveLength(5);
    expect(entry.snapshots[0].title).toMatch(/^Photo /);

    network.delayMs = 1000;
    try {
      const sync = await start();
      const running = await waitFor(
        async () =>
          (
            (
              await t
                .http()
                .get(`/accounts/${accountId}/sync-runs`)
                .query({ status: 'running' })
                .set(admin)
                .expect(200)
            ).body as { items: Run[] }
          ).items,
        (items) => items.length === 1,
      );
      expect(running[0].id).toBe(sync.runs[0].id);
      await settled(sync.id);
      const after = (
        await t
          .http()
          .get(`/accounts/${accountId}/sync-runs`)
          .query({ status: 'running' })
          .set(admin)
          .expect(200)
      ).body as { items: Run[] };
      expect(after.items).toEqual([]);
    } finally {
      network.delayMs = 0;
    }
    const viewer = await keyWithRole(t, 'viewer');
    await t.http().get(`/accounts/${accountId}/sync-status`).set(viewer).expect(404);
  });

  it('announces every run’s end with sync.finished and its counters', async () => {
    const run = await syncNow();
    const finished = (
      (await t.http().get('/events').query({ name: 'sync.finished' }).set(admin).expect(200)).body as {
        items: { source: string; data: { runId: string; status: string; itemsSeen: number } }[];
      }
    ).items.find((event) => event.data.runId === run.id);
    expect(finished).toMatchObject({
      source: 'junction',
      data: { status: 'succeeded', itemsSeen: run.itemsSeen },
    });
  });

  describe('deletions', () => {
    let gallery: FakeNetwork;
    let galleryId: string;

    beforeAll(async () => {
      gallery = await FakeNetwork.start(TOKEN, 5);
      for (let n = 1; n <= 12; n++) gallery.put(`g-${n}`, `Gallery ${n}`);
      galleryId = await connect('gallery', '/photos', gallery.url);
    });
    afterAll(() => gallery.close());

    const restart = async (): Promise<Run> => {
      const sync = (
        await t.http().post(`/connections/${galleryId}/syncs/restart`).set(admin).send({}).expect(202)
      ).body as Sync;
      return (await settled(sync.id)).runs[0];
    };
    const live = async () =>
      (await recordsOf(galleryId)).filter((r) => r.lastAction !== 'deleted').map((r) => r.externalId);

    it('marks items gone only after a full sync that ended without error', async () => {
      expect(await restart()).toMatchObject({ status: 'succeeded', itemsAdded: 12, checkpointBefore: null });
      gallery.remove('g-2');
      gallery.remove('g-5');

      // An incremental sync cannot know what is gone.
      const incremental = (await settled((await start({ connections: [galleryId] })).id)).runs[0];
      expect(incremental).toMatchObject({ status: 'succeeded', itemsDeleted: 0 });
      // A full sync that fails midway (page 2 of 2 answers 404) deletes nothing.
      gallery.failures.push(0, 404);
      expect(await restart()).toMatchObject({ status: 'failed', itemsDeleted: 0 });
      expect(await live()).toHaveLength(12);

      const full = await restart();

      expect(full).toMatchObject({ status: 'succeeded', itemsDeleted: 2, itemsSeen: 10 });
      const gone = (await recordsOf(galleryId, { changes: 'deleted' })).map((r) => r.externalId);
      expect(gone.sort()).toEqual(['g-2', 'g-5']);
      expect(await live()).toHaveLength(10);
    });

    it('deletes nothing and reports DELETE_BRAKE when a full sync would delete more than half', async () => {
      for (const id of ['g-1', 'g-3', 'g-4', 'g-6', 'g-7', 'g-8']) gallery.remove(id);

      const braked = await restart();

      expect(braked).toMatchObject({ status: 'failed', itemsDeleted: 0, error: { code: 'DELETE_BRAKE' } });
      expect(await live()).toHaveLength(10);
    });

    it('clears records and checkpoints, so the next sync stores everything again', async () => {
      const cleared = await t
        .http()
        .post(`/connections/${galleryId}/syncs/clear`)
        .set(admin)
        .send({})
        .expect(200);
      expect(cleared.body).toEqual({ records: 12, checkpoints: 1 });
      expect(await recordsOf(galleryId)).toHaveLength(0);

      const again = (await settled((await start({ connections: [galleryId] })).id)).runs[0];
      expect(again).toMatchObject({ status: 'succeeded', checkpointBefore: null, itemsAdded: 4 });
    });
  });

  describe('settings: content types, date ranges, a clock, pauses', () => {
    let album: FakeNetwork;
    let albumId: string;
    const stream = () =>
      pagedStream('/photos', { query: { taken_from: '{{from}}', taken_to: '{{to}}' }, title: 'title' });

    beforeAll(async () => {
      album = await FakeNetwork.start(TOKEN, 5);
      album.put('a-2024', 'Taken 2024', 1, '2024-07-01T10:00:00.000Z');
      album.put('a-2025-jan', 'Taken January', 1, '2025-01-01T00:00:00.000Z');
      album.put('a-2025-dec', 'Taken 31 December', 1, '2025-12-31T22:00:00.000Z');
      album.put('a-2026', 'Taken 2026', 1, '2026-01-01T00:00:00.000Z');
      albumId = await httpConnection(
        'album',
        album.url,
        { photos: stream(), archive: stream() },
        { contentTypes: { photos: { from: '2025-01-01', to: '2025-12-31' } } },
      );
    });
    afterAll(() => album.close());

    const statusOf = async (type: string) =>
      (
        (await t.http().get(`/accounts/${accountId}/sync-status`).set(admin).expect(200)).body as {
          items: { connectionId: string; type: string; enabled: boolean; nextSyncAt: string | null }[];
        }
      ).items.find((item) => item.connectionId === albumId && item.type === type)!;
    const patch = (settings: object) =>
      t.http().patch(`/connections/${albumId}`).set(admin).send({ settings });

    it('refuses settings it cannot follow, naming each problem', async () => {
      const refused = await patch({
        syncEvery: '30s',
        contentTypes: { videos: {}, photos: { from: 'last week', enabled: 'yes' } },
        extra: 1,
      }).expect(422);
      expect(refused.body.error).toBe('INVALID_CONNECTION');
      expect((refused.body.details as { path: string }[]).map((p) => p.path).sort()).toEqual([
        '/settings/contentTypes/photos/enabled',
        '/settings/contentTypes/photos/from',
        '/settings/contentTypes/videos',
        '/settings/extra',
        '/settings/syncEvery',
      ]);
      for (const syncEvery of ['* * * * * *', 'often', '@every 59s', '400d'])
        await patch({ syncEvery }).expect(422);
      await patch({ contentTypes: { photos: { from: '2025-02-01', to: '2025-01-01' } } }).expect(422);
      const webhooks = await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'github',
          name: 'gh-settings',
          config: {},
          credentials: { type: 'none' },
          settings: { syncEvery: '1h' },
        })
        .expect(422);
      expect(webhooks.body.details).toEqual([
        { path: '/settings', message: 'provider github does not sync' },
      ]);
    });

    it('syncs only the enabled types, and only items within their date range, deleting nothing outside it', async () => {
      expect(await statusOf('archive')).toMatchObject({ enabled: false });
      const sync = await settled((await start({ connections: [albumId] })).id);

      expect(sync.runs.map((run) => run.type)).toEqual(['photos']);
      expect(sync.runs[0]).toMatchObject({ status: 'succeeded', itemsAdded: 2, itemsDeleted: 0 });
      const taken = album.requests.at(-1)!.query;
      expect(taken).toMatchObject({
        taken_from: '2025-01-01T00:00:00.000Z',
        taken_to: '2025-12-31T23:59:59.999Z',
      });
      expect((await recordsOf(albumId)).map((r) => r.externalId).sort()).toEqual([
        'a-2025-dec',
        'a-2025-jan',
      ]);
      await t
        .http()
        .post(`/accounts/${accountId}/syncs`)
        .set(admin)
        .send({ connections: [albumId], types: ['archive'] })
        .expect(422);

      // A wider range is read whole, not from the narrower range's checkpoint.
      await patch({ contentTypes: { photos: { from: '2024-01-01' } } }).expect(200);
      const wider = (await settled((await start({ connections: [albumId] })).id)).runs[0];
      expect(wider).toMatchObject({
        status: 'succeeded',
        checkpointBefore: null,
        itemsAdded: 2,
        itemsDeleted: 0,
      });
      expect((await recordsOf(albumId)).map((r) => r.externalId).sort()).toEqual([
        'a-2024',
        'a-2025-dec',
        'a-2025-jan',
        'a-2026',
      ]);
    });

    it('syncs on the clock settings.syncEvery sets, and a cancelled run does not stop the next one', async () => {
      await patch({ syncEvery: '1h', contentTypes: { photos: { from: '2024-01-01' } } }).expect(200);
      const schedules = (await t.http().get('/schedules?limit=200').set(admin).expect(200)).body as {
        items: { id: string; name: string; cron: string; enabled: boolean; nextFireAt: string }[];
      };
      const schedule = schedules.items.find((s) => s.name === `connection:${albumId}:sync`)!;
      expect(schedule).toMatchObject({ cron: '@every 1h', enabled: true });
      expect(new Date(schedule.nextFireAt).getTime() % 3_600_000).toBe(0);
      expect((await statusOf('photos')).nextSyncAt).toBe(schedule.nextFireAt);
      expect((await statusOf('archive')).nextSyncAt).toBeNull();

      const fire = async (): Promise<Run> => {
        const { jobId } = (await t.http().post(`/schedules/${schedule.id}/trigger`).set(admin).expect(201))
          .body as { jobId: string };
        const job = await waitFor(
          async () =>
            (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as {
              status: string;
              result: { runIds: string[] };
            },
          (j) => j.status === 'succeeded',
        );
        return (await t.http().get(`/sync-runs/${job.result.runIds[0]}`).set(admin).expect(200)).body as Run;
      };
      album.delayMs = 3000;
      try {
        const first = await fire();
        await waitFor(
          async () => (await t.http().get(`/sync-runs/${first.id}`).set(admin).expect(200)).body as Run,
          (r) => r.status === 'running',
        );
        await t.http().post(`/sync-runs/${first.id}/cancel`).set(admin).expect(200);
      } finally {
        album.delayMs = 0;
      }
      album.put('a-2026-new', 'Taken later', 1, '2026-02-01T00:00:00.000Z');
      const next = await fire();
      const done = await waitFor(
        async () => (await t.http().get(`/sync-runs/${next.id}`).set(admin).expect(200)).body as Run,
        (r) => r.status !== 'queued' && r.status !== 'running',
      );
      expect(done).toMatchObject({ status: 'succeeded', itemsAdded: 1 });
      expect((await t.http().get(`/schedules/${schedule.id}`).set(admin).expect(200)).body).toMatchObject({
        enabled: true,
      });
    });

    it('pauses and resumes its syncs: the schedule stops, asked-for runs wait, and then run', async () => {
      const paused = await t.http().post(`/connections/${albumId}/syncs/pause`).set(admin).expect(200);
      expect(paused.body).toMatchObject({ connectionId: albumId, runs: [] });
      expect(paused.body.syncsPausedAt).not.toBeNull();
      const schedule = (await t.http().get('/schedules?limit=200').set(admin).expect(200)).body.items.find(
        (s: { name: string }) => s.name === `connection:${albumId}:sync`,
      ) as { enabled: boolean; nextFireAt: string | null };
      expect(schedule).toMatchObject({ enabled: false, nextFireAt: null });
      expect((await statusOf('photos')).nextSyncAt).toBeNull();

      const waiting = await start({ connections: [albumId] });
      expect(waiting).toMatchObject({ status: 'paused', runs: [{ status: 'paused' }] });
      expect((await start({ connections: [albumId] })).runs[0].id).toBe(waiting.runs[0].id);

      const resumed = await t.http().post(`/connections/${albumId}/syncs/resume`).set(admin).expect(200);
      expect(resumed.body).toEqual({
        connectionId: albumId,
        syncsPausedAt: null,
        runs: [waiting.runs[0].id],
      });
      expect((await settled(waiting.id)).runs[0].status).toBe('succeeded');
      expect((await statusOf('photos')).nextSyncAt).not.toBeNull();
    });
  });

  describe('copies of the items’ content in a storage connection', () => {
    const DAV_USER = 'junction';
    const DAV_PASSWORD = 'dav-password-0123456789';
    let camera: FakeNetwork;
    let dav: FakeWebdav;
    let vaultId: string;
    let cameraId: string;

    beforeAll(async () => {
      camera = await FakeNetwork.start(TOKEN, 2);
      for (const n of [1, 2, 3]) camera.put(`c-${n}`, `Shot ${n}`);
      dav = await startFakeWebdav({ username: DAV_USER, password: DAV_PASSWORD });
      vaultId = await createConnection({
        provider: 'webdav',
        name: 'vault',
        config: { url: dav.url },
        credentials: { type: 'basic', username: DAV_USER, password: DAV_PASSWORD },
      });
      cameraId = await connect('camera', '/photos', camera.url);
    });
    afterAll(async () => {
      await camera.close();
      await dav.close();
    });

    const setStorage = (storageConnectionId: string) =>
      t
        .http()
        .patch(`/connections/${cameraId}`)
        .set(admin)
        .send({
          settings: { storageConnectionId },
          config: {
            baseUrl: camera.url,
            streams: { photos: pagedStream('/photos', { content: 'contentUrl' }) },
          },
        });
    const contentOf = async (id: string) =>
      (
        await t
          .http()
          .get(`/connections/${cameraId}/records/${id}/content`)
          .query({ type: 'photos' })
          .set(admin)
          .buffer(true)
          .parse((res, done) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => done(null, Buffer.concat(chunks)));
          })
          .expect(200)
      ).body as Buffer;
    const contentRequests = () => camera.requests.filter((r) => r.path.endsWith('/content')).length;
    const syncCamera = async () => (await settled((await start({ connections: [cameraId] })).id)).runs[0];

    it('refuses a storage that is not a storage connection of the account', async () => {
      const refused = await setStorage(connectionId).expect(422);
      expect(refused.body.details).toEqual([
        { path: '/settings/storageConnectionId', message: expect.stringContaining('stores no files') },
      ]);
      await setStorage('019abc12-3def-7456-89ab-cdef01234567').expect(422);
      await setStorage('not-an-id').expect(422);
    });

    it('copies each new or changed item’s content once, and the records point to their copies', async () => {
      await setStorage(vaultId).expect(200);

      expect(await syncCamera()).toMatchObject({ status: 'succeeded', itemsAdded: 3 });

      expect(contentRequests()).toBe(3);
      expect(dav.files.size).toBe(3);
      const stored = await recordsOf(cameraId);
      expect(stored.map((r) => (r as unknown as { storedCopy: unknown }).storedCopy)).toEqual(
        ['c-1', 'c-2', 'c-3'].map((id) => ({ connectionId: vaultId, path: `${cameraId}/photos/${id}` })),
      );
      expect((await contentOf('c-2')).toString()).toBe(photoBytes(camera.photos.get('c-2')!).toString());

      // A full resync of unchanged items copies nothing again.
      const restarted = (
        await t.http().post(`/connections/${cameraId}/syncs/restart`).set(admin).send({}).expect(202)
      ).body as Sync;
      expect((await settled(restarted.id)).runs[0]).toMatchObject({ status: 'succeeded', itemsUpdated: 0 });
      expect(contentRequests()).toBe(3);

      camera.put('c-2', 'Shot 2, sharpened');
      expect(await syncCamera()).toMatchObject({ status: 'succeeded', itemsUpdated: 1 });
      expect(contentRequests()).toBe(4);
      expect((await contentOf('c-2')).toString()).toBe('JPEG c-2 Shot 2, sharpened');
      await t
        .http()
        .get(`/connections/${connectionId}/records/p-1/content`)
        .query({ type: 'photos' })
        .set(admin)
        .expect(404);
    });

    it('says storage.limit-near once a run leaves its storage 90 % full', async () => {
      const nearLimit = async () =>
        (
          (await t.http().get('/events').query({ name: 'storage.limit-near' }).set(admin).expect(200))
            .body as {
            items: { data: { connectionId: string; percent: number } }[];
          }
        ).items.filter((event) => event.data.connectionId === vaultId);
      const used = [...dav.files.values()].reduce((sum, file) => sum + file.length, 0);
      dav.setQuota(used * 10);
      camera.put('c-4', 'Shot 4');
      await syncCamera();
      expect(await nearLimit()).toEqual([]);

      dav.setQuota(used + 30);
      camera.put('c-5', 'Shot 5');
      expect(await syncCamera()).toMatchObject({ status: 'succeeded', itemsAdded: 1 });

      const [event] = await nearLimit();
      expect(event.data.percent).toBeGreaterThanOrEqual(90);
    });
  });

  it('cancels a running run, which ends cancelled', async () => {
    network.delayMs = 3000;
    try {
      const sync = await start();
      await waitFor(
        async () => (await t.http().get(`/sync-runs/${sync.runs[0].id}`).set(admin).expect(200)).body as Run,
        (r) => r.status === 'running',
      );
      const cancelled = (await t.http().post(`/sync-runs/${sync.runs[0].id}/cancel`).set(admin).expect(200))
        .body as Run;
      expect(cancelled.status).toBe('cancelled');
      await t.http().post(`/sync-runs/${sync.runs[0].id}/cancel`).set(admin).expect(409);
      const job = (await t.http().get(`/jobs/${cancelled.jobId}`).set(admin).expect(200)).body as {
        status: string;
      };
      expect(job.status).toBe('cancelled');
    } finally {
      network.delayMs = 0;
    }
  });

  it('gives admins the stats of accounts, connections per provider and records held', async () => {
    interface Stats {
      total: number;
      lastSignupAt: string;
      connections: Record<string, number>;
      records: number;
    }
    const stats = async () => (await t.http().get('/accounts/stats').set(admin).expect(200)).body as Stats;
    const before = await stats();
    const joined = (
      await t
        .http()
        .post('/accounts')
        .set(admin)
        .send({ name: 'counted', email: `counted-${Date.now()}@example.com`, role: 'operator' })
        .expect(201)
    ).body as { id: string; createdAt: string };
    const counted = await connect('counted');
    expect((await settled((await start({ connections: [counted] })).id)).status).toBe('succeeded');

    const after = await stats();

    expect(after).toMatchObject({ total: before.total + 1, lastSignupAt: joined.createdAt });
    expect(after.connections.http).toBe(before.connections.http + 1);
    expect(after.records).toBe(before.records + network.photos.size);
    const operator = await keyWithRole(t, 'operator');
    await t.http().get('/accounts/stats').set(operator).expect(403);
  });

  it('leaves no row of an account once it is deleted: connections, runs, checkpoints, records, schedules', async () => {
    const account = (
      await t
        .http()
        .post('/accounts')
        .set(admin)
        .send({ name: 'leaving', email: `leaving-${Date.now()}@example.com`, role: 'viewer' })
        .expect(201)
    ).body as { id: string };
    const { key } = (
      await t.http().post(`/accounts/${account.id}/api-keys`).set(admin).send({ name: 'k' }).expect(201)
    ).body as { key: string };
    const own = bearer(key);
    const created = (
      await t
        .http()
        .post('/connections')
        .set(own)
        .send({
          provider: 'http',
          name: 'mine',
          config: {
            baseUrl: network.url,
            streams: { photos: pagedStream('/photos') },
          },
          credentials: { type: 'bearer', token: TOKEN },
          settings: { syncEvery: '6h' },
        })
        .expect(201)
    ).body as { id: string };
    const sync = (await t.http().post(`/accounts/${account.id}/syncs`).set(own).send({}).expect(202))
      .body as Sync;
    await waitFor(
      async () => (await t.http().get(`/syncs/${sync.id}`).set(own).expect(200)).body as Sync,
      (s) => s.status === 'succeeded',
    );
    const rows = async () => {
      const dataSource = t.app.get(DataSource);
      const q = (sql: string) => (t.database.kind === 'postgres' ? sql.replace('?', '$1') : sql);
      const count = async (sql: string, id: string) =>
        Number((await dataSource.query<{ n: string | number }[]>(q(sql), [id]))[0].n);
      return {
        connections: await count(`SELECT count(*) AS n FROM connection WHERE account_id = ?`, account.id),
        syncs: await count(`SELECT count(*) AS n FROM sync WHERE account_id = ?`, account.id),
        runs: await count(`SELECT count(*) AS n FROM sync_run WHERE connection_id = ?`, created.id),
        checkpoints: await count(
          `SELECT count(*) AS n FROM sync_checkpoint WHERE connection_id = ?`,
          created.id,
        ),
        records: await count(`SELECT count(*) AS n FROM record WHERE connection_id = ?`, created.id),
        schedules: await count(
          `SELECT count(*) AS n FROM schedule WHERE name = ?`,
          `connection:${created.id}:sync`,
        ),
      };
    };
    expect(await rows()).toEqual({
      connections: 1,
      syncs: 1,
      runs: 1,
      checkpoints: 1,
      records: network.photos.size,
      schedules: 1,
    });

    await t.http().delete(`/accounts/${account.id}`).set(admin).expect(204);

    expect(await rows()).toEqual({
      connections: 0,
      syncs: 0,
      runs: 0,
      checkpoints: 0,
      records: 0,
      schedules: 0,
    });
  });

  it('refuses what cannot be synced with 422, and other accounts’ syncs and records', async () => {
    const unknown = await t
      .http()
      .post(`/accounts/${accountId}/syncs`)
      .set(admin)
      .send({ connections: ['019abc12-3def-7456-89ab-cdef01234567'] })
      .expect(422);
    expect(unknown.body).toMatchObject({ error: 'INVALID_SYNC' });
    await t
      .http()
      .post(`/accounts/${accountId}/syncs`)
      .set(admin)
      .send({ types: ['videos'] })
      .expect(422);

    const viewer = await keyWithRole(t, 'viewer');
    await t.http().post(`/accounts/${accountId}/syncs`).set(viewer).send({}).expect(403);
    const sync = await start();
    await t.http().get(`/syncs/${sync.id}`).set(viewer).expect(404);
    await t.http().get(`/sync-runs/${sync.runs[0].id}`).set(viewer).expect(404);
    await t.http().get(`/connections/${connectionId}/records`).set(viewer).expect(404);
    await settled(sync.id);
  });
});
