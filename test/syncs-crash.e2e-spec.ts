import { DataSource } from 'typeorm';
import { FakeNetwork } from './fakes/network.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'network-token-0123456789abcdef';
const ITEMS = 5000;
const PAGE = 500;

interface Run {
  status: string;
  itemsSeen: number;
  itemsAdded: number;
  checkpointAfter: string | null;
}

describe(`a sync worker killed with SIGKILL in the middle of a ${ITEMS}-item run (${transport})`, () => {
  it('goes on at the page after its last one stored and ends with exactly every record, each seen once', async () => {
    const network = await FakeNetwork.start(TOKEN, PAGE);
    for (let n = 1; n <= ITEMS; n++) network.put(`p-${n}`, `Photo ${n}`);
    // Each page takes a while, so the kill lands in the middle of the run.
    network.delayMs = 400;
    const database = await TestDatabase.create();
    // This process only takes requests; the workers are separate processes (with the api role too, so
    // they answer /health when ready).
    const api = await startTestApp({ database, env: { JUNCTION_ROLES: 'api' } });
    const workers: JunctionProcess[] = [];
    const workerEnv = database.env({ JUNCTION_ROLES: 'worker,api', JUNCTION_JOB_LEASE_MS: '2000' });
    try {
      const accountId = ((await api.http().get('/accounts/me').set(admin).expect(200)).body as { id: string })
        .id;
      await api
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'http',
          name: 'photos',
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
        .expect(201);
      const sync = (await api.http().post(`/accounts/${accountId}/syncs`).set(admin).send({}).expect(202))
        .body as { runs: { id: string }[] };
      const runNow = async () =>
        (await api.http().get(`/sync-runs/${sync.runs[0].id}`).set(admin).expect(200)).body as Run;

      workers.push(await startJunctionProcess(workerEnv));
      const atKill = await waitFor(runNow, (run) => run.itemsSeen >= 3 * PAGE, 60_000, 20);
      await workers[0].kill();
      const stored = await runNow();
      expect(stored.itemsSeen).toBeLessThan(ITEMS);
      expect(stored.checkpointAfter).not.toBeNull();
      const requestsBefore = network.requests.length;

      workers.push(await startJunctionProcess(workerEnv));
      const done = await waitFor(
        runNow,
        (run) => run.status !== 'running' && run.status !== 'queued',
        90_000,
        100,
      );

      expect(done.status).toBe('succeeded');
      expect(done.itemsAdded).toBe(ITEMS);
      expect(done.itemsSeen).toBe(ITEMS);
      // The second worker went on at the page after the last one stored, with the query the run started with.
      expect(network.requests[requestsBefore].query).toEqual({ page: String(stored.itemsSeen) });
      expect(atKill.itemsSeen).toBeGreaterThanOrEqual(3 * PAGE);
      const [{ n }] = await api.app
        .get(DataSource)
        .query<{ n: string }[]>(`SELECT count(*) AS n FROM record`);
      expect(Number(n)).toBe(ITEMS);
      const [{ n: distinct }] = await api.app
        .get(DataSource)
        .query<{ n: string }[]>(`SELECT count(DISTINCT external_id) AS n FROM record`);
      expect(Number(distinct)).toBe(ITEMS);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await api.close();
      await database.drop();
      await network.close();
    }
  }, 180_000);
});
