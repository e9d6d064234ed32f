import { DataSource } from 'typeorm';
import { FakeNetwork } from './fakes/network.js';
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

  /** An http connection whose `photos` stream is the fake network's paged photos. */
  const connect = async (name: string, path = '/photos', baseUrl = network.url): Promise<string> =>
    (
      (
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'http',
            name,
            config: {
              baseUrl,
              rateLimit: { requests: 1000, perMs: 1000 },
              streams: {
                photos: {
                  path,
                  items: 'data',
                  id: 'id',
                  cursor: 'updatedAt',
                  cursorParam: 'updated_since',
                  nextPage: { from: 'next', param: 'page' },
                  title: 'title',
                  size: 'size',
                },
              },
            },
            credentials: { type: 'bearer', token: TOKEN },
          })
          .expect(201)
      ).body as { id: string }
    ).id;

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

  it('ends a run failed, with the partner’s error, when retrying cannot help, and calls ten in a row a problem', async () => {
    const broken = await connect('broken', '/nowhere');
    const problems = async () =>
      (
        (await t.http().get('/events').query({ name: 'sync.problem' }).set(admin).expect(200)).body as {
          items: { data: { connectionId: string; failedRuns: number } }[];
        }
      ).items.filter((event) => event.data.connectionId === broken);

    for (let n = 1; n <= 11; n++) {
      const done = await settled((await start({ connections: [broken] })).id);
      expect(done.status).toBe('failed');
      expect(done.runs[0]).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
      expect(done.runs[0].error!.message).toContain('404');
      if (n === 9) expect(await problems()).toHaveLength(0);
    }

    expect((await problems()).map((event) => event.data.failedRuns)).toEqual([10]);
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

  it('leaves no row of an account once it is deleted: connections, runs, checkpoints, records', async () => {
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
            streams: {
              photos: {
                path: '/photos',
                items: 'data',
                id: 'id',
                cursor: 'updatedAt',
                nextPage: { from: 'next', param: 'page' },
              },
            },
          },
          credentials: { type: 'bearer', token: TOKEN },
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
      };
    };
    expect(await rows()).toEqual({
      connections: 1,
      syncs: 1,
      runs: 1,
      checkpoints: 1,
      records: network.photos.size,
    });

    await t.http().delete(`/accounts/${account.id}`).set(admin).expect(204);

    expect(await rows()).toEqual({ connections: 0, syncs: 0, runs: 0, checkpoints: 0, records: 0 });
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
