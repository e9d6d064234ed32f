import { createHmac } from 'node:crypto';
import { startFakePartner } from './fakes/partner.js';
import type { FakePartner } from './fakes/partner.js';
import { ADMIN_KEY, bearer } from './support/test-app.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

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
  let junction: JunctionProcess;
  const api = () => junction.api();

  beforeAll(async () => {
    database = await TestDatabase.create();
    partner = await startFakePartner({ token: TOKEN });
    junction = await startJunctionProcess(
      database.env({ JUNCTION_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace' }),
    );
  });
  afterAll(async () => {
    await junction.stop();
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

    // A webhook secret: shown at creation and rotation, used to verify, logged nowhere.
    const github = (
      await api()
        .post('/connections')
        .set(admin)
        .send({ provider: 'github', name: 'hooks', config: {}, credentials: { type: 'none' } })
        .expect(201)
    ).body as { id: string; webhookSecret: string };
    const rotated = (await api().post(`/connections/${github.id}/webhook-secret`).set(admin).expect(200))
      .body as { webhookSecret: string };
    const push = JSON.stringify({ ref: 'refs/heads/main' });
    for (const [secret, status] of [
      [rotated.webhookSecret, 202],
      ['whsec_wrong', 401],
    ] as const) {
      await api()
        .post(`/webhooks/${github.id}`)
        .set({
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': `d-${status}`,
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(push).digest('hex')}`,
        })
        .send(push)
        .expect(status);
    }
    await junction.stop();

    expect(junction.output().length).toBeGreaterThan(1000);
    expect(junction.output()).toContain('"/connections"');
    const basicHeader = Buffer.from(`shop:${PASSWORD}`).toString('base64');
    for (const secret of [TOKEN, WRONG, PASSWORD, basicHeader, github.webhookSecret, rotated.webhookSecret])
      expect(junction.output()).not.toContain(secret);
    expect(partner.requests.some((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});
