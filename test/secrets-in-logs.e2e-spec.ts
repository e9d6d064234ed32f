import { spawn } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { ADMIN_KEY, bearer } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';
import { freePort } from './support/free-port.js';

const MAIN = path.resolve('dist/src/main.js');
const admin = bearer(ADMIN_KEY);
const TOKEN = 'log-secret-token-4b1d9e0cLMNO';
const WRONG = 'log-wrong-token-8e7f6a5bPQRS';
const PASSWORD = 'log-basic-password-2c3d4e5f';

/**
 * A real Junction process logging at trace level, used for everything a connection goes through
 * (created, tested, used by a job, refused, given new credentials): no captured line holds a secret.
 */
describe('secrets in logs', () => {
  let database: TestDatabase;
  let partner: FakePartner;
  let output = '';
  let stop: () => Promise<unknown>;
  let api: () => ReturnType<typeof request>;

  beforeAll(async () => {
    database = await TestDatabase.create();
    partner = await startFakePartner({ token: TOKEN });
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        ...database.env({ JUNCTION_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace' }),
        PORT: String(port),
      },
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    stop = () => {
      child.kill('SIGTERM');
      return exited;
    };
    const base = request(`http://127.0.0.1:${port}`);
    api = () => base;
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      30_000,
    );
  });
  afterAll(async () => {
    await stop();
    await partner.close();
    await database.drop();
  });

  it('writes no credential into any log line', async () => {
    const connect = async (name: string, credentials: Record<string, string>) =>
      (
        await api()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'http',
            name,
            config: {
              baseUrl: partner.url,
              checkPath: '/shipments',
              actions: {
                'send-order': { method: 'POST', path: '/orders', body: { reference: '{{input.ref}}' } },
              },
            },
            credentials,
          })
          .expect(201)
      ).body.id as string;
    const good = await connect('good', { type: 'bearer', token: TOKEN });
    const wrong = await connect('wrong', { type: 'bearer', token: WRONG });
    const basic = await connect('basic', { type: 'basic', username: 'shop', password: PASSWORD });
    for (const id of [good, wrong, basic]) await api().post(`/connections/${id}/test`).set(admin).expect(200);
    await api()
      .put(`/connections/${wrong}/credentials`)
      .set(admin)
      .send({ credentials: { type: 'bearer', token: WRONG } })
      .expect(200);
    const jobs = await Promise.all(
      [good, wrong, basic].map(async (connectionId) => {
        const created = await api()
          .post('/jobs')
          .set(admin)
          .send({
            type: 'http.action',
            payload: { connectionId, action: 'send-order', input: { ref: 'L-1' } },
          })
          .expect(201);
        return created.body.id as string;
      }),
    );
    const finished = await Promise.all(
      jobs.map((id) =>
        waitFor(
          async () => (await api().get(`/jobs/${id}`).set(admin).expect(200)).body as { status: string },
          (job) => job.status === 'succeeded' || job.status === 'dead',
          20_000,
        ),
      ),
    );
    expect(finished.map((job) => job.status)).toEqual(['succeeded', 'dead', 'dead']);
    await stop();

    expect(output.length).toBeGreaterThan(1000);
    expect(output).toContain('"/connections"');
    const basicHeader = Buffer.from(`shop:${PASSWORD}`).toString('base64');
    for (const secret of [TOKEN, WRONG, PASSWORD, basicHeader]) expect(output).not.toContain(secret);
    expect(partner.requests.some((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});
