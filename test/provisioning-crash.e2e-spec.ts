import { FakeFastly } from './fakes/fastly.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'fastly-crash-token-0123456789abcdef';

describe(`a provisioning worker killed with SIGKILL in the middle of a create flow (${transport})`, () => {
  it('resumes the flow on another worker without creating the provider service twice', async () => {
    const fastly = await new FakeFastly(TOKEN).start();
    const database = await TestDatabase.create();
    // This process only takes requests; the workers are processes of their own.
    const api = await startTestApp({ database, env: { JUNCTION_ROLES: 'api' } });
    const workers: JunctionProcess[] = [];
    const workerEnv = database.env({ JUNCTION_ROLES: 'worker,api', JUNCTION_JOB_LEASE_MS: '2000' });
    try {
      const connect = async (provider: string, config: object, credentials: object) =>
        (
          await api
            .http()
            .post('/connections')
            .set(admin)
            .send({ provider, name: provider, config, credentials })
            .expect(201)
        ).body.id as string;
      const cdn = await connect('fastly', { apiBaseUrl: fastly.url }, { type: 'bearer', token: TOKEN });
      const dns = await connect('mock-dns', {}, { type: 'none' });
      await api
        .http()
        .post('/flavors')
        .set(admin)
        .send({
          id: 'fastly-only',
          providers: [{ provider: 'fastly', connectionId: cdn }],
          dns: { provider: 'mock-dns', connectionId: dns },
        })
        .expect(201);
      const projectId = (await api.http().post('/projects').set(admin).send({ name: 'Crash' }).expect(201))
        .body.id as string;
      // The service is made at Fastly, then its activation hangs: the worker dies in between.
      fastly.holdOnce('PUT /service/', 60_000);
      const created = await api
        .http()
        .post(`/projects/${projectId}/services`)
        .set(admin)
        .send({
          name: 'assets',
          flavorId: 'fastly-only',
          domains: [{ domain: 'assets.crash.example' }],
          origins: [{ origin: 'origin.crash.example', port: 443, ssl: true }],
        })
        .expect(202);

      workers.push(await startJunctionProcess(workerEnv));
      await waitFor(
        () => Promise.resolve(fastly.holding),
        (holding) => holding === 1,
        60_000,
      );
      expect(fastly.count('POST /service')).toBe(1);
      await workers[0].kill();

      workers.push(await startJunctionProcess(workerEnv));
      const service = await waitFor(
        async () =>
          (await api.http().get(`/projects/${projectId}/services/${created.body.id}`).set(admin).expect(200))
            .body as { status: string; providerDetails: { fastly: { providerServiceId: string } } },
        (found) => found.status === 'deployed' || found.status === 'failed',
        90_000,
        100,
      );

      expect(service.status).toBe('deployed');
      expect(fastly.count('POST /service')).toBe(1);
      expect(fastly.list()).toEqual([
        expect.objectContaining({ id: service.providerDetails.fastly.providerServiceId }),
      ]);
      expect(fastly.activeVersion(service.providerDetails.fastly.providerServiceId)).toBeDefined();
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await api.close();
      await database.drop();
      await fastly.stop();
    }
  }, 180_000);
});
