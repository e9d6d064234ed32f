import type { AddressInfo } from 'node:net';
import { ProjectRecordsService } from '../src/modules/projects/project-records.service.js';
import { notificationBody, postNotification, startFakeJenkins } from './fakes/jenkins.js';
import type { BuildNotice, FakeJenkins } from './fakes/jenkins.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const USER = 'ci-bot';
const API_TOKEN = '11a2b3c4d5e6f708192a3b4c5d6e7f8091';

interface Build {
  job: string;
  number: number;
  status: string;
  revision: string | null;
  branchId: string | null;
  url: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

interface JobBody {
  id: string;
  status: string;
  result: unknown;
  lastError: { code: string } | null;
}

/** Jenkins tells a project about its builds through the Notification plugin, and builds branches on request. */
describe(`projects: the Jenkins provider (${mode})`, () => {
  let t: TestApp;
  let jenkins: FakeJenkins;
  let base: string;
  let serial = 0;

  beforeAll(async () => {
    jenkins = await startFakeJenkins({ username: USER, apiToken: API_TOKEN, csrf: true });
    t = await startTestApp();
    // The plugin posts over HTTP, as it would to a running Junction.
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
    await jenkins.close();
  });

  const connection = async (
    provider: 'jenkins' | 'github' | 'http',
    credentials: object = { type: 'basic', username: USER, password: API_TOKEN },
  ) => {
    const config = provider === 'github' ? {} : { baseUrl: jenkins.url };
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider,
        name: `${provider}-${++serial}`,
        config,
        credentials: provider === 'github' ? { type: 'none' } : credentials,
      })
      .expect(201);
    return created.body as { id: string; webhookSecret: string; webhookUrl: string | null };
  };
  const project = async (name: string) =>
    ((await t.http().post('/projects').set(admin).send({ name }).expect(201)).body as { id: string }).id;
  const putSettings = (projectId: string, provider: string, settings: object) =>
    t.http().put(`/projects/${projectId}/providers/${provider}`).set(admin).send(settings);
  const notify = (connectionId: string, token: string | null, notice: BuildNotice) =>
    postNotification(
      `${base}/webhooks/${connectionId}${token === null ? '' : `?token=${encodeURIComponent(token)}`}`,
      notificationBody(jenkins.url, notice),
    );
  const builds = async (projectId: string) =>
    (await t.http().get(`/projects/${projectId}/builds`).set(admin).expect(200)).body.items as Build[];
  const buildOf = (projectId: string, job: string, number: number, done: (build: Build) => boolean) =>
    waitFor(
      async () => (await builds(projectId)).find((build) => build.job === job && build.number === number),
      (build) => build !== undefined && done(build),
    ) as Promise<Build>;
  const routeNames = async () =>
    ((await t.http().get('/routes').set(admin).expect(200)).body as { name: string }[]).map((r) => r.name);

  /**
   * What the GitHub provider and a planning tool would have written: a feature, the repository
   * `acme/<repo>` whose branch patterns link `feature/<KEY>` to it, and that branch at `headSha`.
   */
  const featureBranch = async (projectId: string, key: string, repo: string, headSha: string) => {
    const records = t.app.get(ProjectRecordsService);
    const github = await connection('github');
    await putSettings(projectId, 'github', {
      connectionId: github.id,
      repositories: [`acme/${repo}`],
      branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'develop' }],
    }).expect(200);
    const feature = await records.upsertFeature(projectId, {
      provider: 'targetprocess',
      externalId: key,
      type: 'story',
      title: `Story ${key}`,
      state: 'Open',
    });
    const repository = await records.upsertRepository(projectId, {
      provider: 'github',
      owner: 'acme',
      name: repo,
    });
    const branch = await records.upsertBranch(projectId, repository.id, { name: `feature/${key}`, headSha });
    return { records, feature, repository, branch };
  };

  it('upserts a build through queued, running and success, linked to its branch and revision, when the token is right', async () => {
    const id = await project('Jenkins builds');
    const ci = await connection('jenkins');
    expect(ci.webhookUrl).not.toContain(ci.webhookSecret);
    await putSettings(id, 'jenkins', { connectionId: ci.id, jobs: ['shop'] }).expect(200);
    const { records, feature, repository, branch } = await featureBranch(id, 'SHOP-1', 'shop', 'c0ffee1');
    // Another repository with a branch of the same name, at another commit: not the one built.
    const other = await records.upsertRepository(id, { provider: 'github', owner: 'acme', name: 'docs' });
    await records.upsertBranch(id, other.id, { name: 'feature/SHOP-1', headSha: 'd0c5' });
    const scheduled = Date.parse('2026-03-01T10:00:00Z');
    const notice = {
      job: 'shop',
      number: 7,
      branch: 'origin/feature/SHOP-1',
      commit: 'c0ffee1',
      timestamp: scheduled,
    };

    expect((await notify(ci.id, ci.webhookSecret, { ...notice, phase: 'QUEUED' })).status).toBe(202);
    expect(await buildOf(id, 'shop', 7, (b) => b.status === 'queued')).toMatchObject({
      revision: 'c0ffee1',
      branchId: branch.id,
      url: `${jenkins.url}/job/shop/7/`,
    });
    await notify(ci.id, ci.webhookSecret, { ...notice, phase: 'STARTED' });
    await buildOf(id, 'shop', 7, (b) => b.status === 'running');
    await notify(ci.id, ci.webhookSecret, {
      ...notice,
      phase: 'COMPLETED',
      status: 'SUCCESS',
      duration: 90_000,
    });
    const done = await buildOf(id, 'shop', 7, (b) => b.status === 'success');
    expect(done).toMatchObject({
      branchId: branch.id,
      startedAt: '2026-03-01T10:00:00.000Z',
      finishedAt: '2026-03-01T10:01:30.000Z',
    });

    // Build 8 is heard of out of order: its late STARTED must not reopen it, and FINALIZED keeps it.
    const eight = { ...notice, number: 8, timestamp: scheduled + 3_600_000 };
    await notify(ci.id, ci.webhookSecret, {
      ...eight,
      phase: 'COMPLETED',
      status: 'FAILURE',
      duration: 30_000,
    });
    await notify(ci.id, ci.webhookSecret, { ...eight, phase: 'STARTED' });
    await notify(ci.id, ci.webhookSecret, { ...eight, phase: 'FINALIZED', status: 'FAILURE' });
    // A job the project does not follow is left out; the connection's events run in order, so once
    // build 9 is there, everything before it was applied.
    await notify(ci.id, ci.webhookSecret, { ...notice, job: 'nightly', number: 1, phase: 'STARTED' });
    await notify(ci.id, ci.webhookSecret, { ...notice, number: 9, phase: 'QUEUED' });
    await buildOf(id, 'shop', 9, () => true);
    const all = await builds(id);
    expect(all.find((b) => b.number === 8)).toMatchObject({
      status: 'failure',
      revision: 'c0ffee1',
      finishedAt: '2026-03-01T11:00:30.000Z',
    });
    expect(all.map((b) => b.job)).not.toContain('nightly');

    const view = (await t.http().get(`/projects/${id}/features/${feature.id}`).set(admin).expect(200))
      .body as {
      repositories: { id: string; branches: { id: string; latestBuild: Build | null }[] }[];
    };
    const shop = view.repositories.find((r) => r.id === repository.id)!;
    expect(shop.branches[0]).toMatchObject({
      id: branch.id,
      latestBuild: { job: 'shop', number: 9, status: 'queued' },
    });
  });

  it('answers 401 and stores nothing when the token is wrong or missing', async () => {
    const ci = await connection('jenkins');
    const notice: BuildNotice = { job: 'shop', number: 1, phase: 'STARTED', commit: 'abc' };
    const wrong = await notify(ci.id, `${ci.webhookSecret.slice(0, -2)}x=`, notice);
    expect(wrong).toMatchObject({ status: 401, body: { error: 'WEBHOOK_SIGNATURE_INVALID' } });
    expect((await notify(ci.id, null, notice)).status).toBe(401);
    const source = encodeURIComponent(`connection:${ci.id}`);
    expect((await t.http().get(`/events?source=${source}`).set(admin).expect(200)).body.items).toEqual([]);
  });

  it('answers a redelivered notification as a duplicate when the plugin sends a phase again', async () => {
    const ci = await connection('jenkins');
    const notice: BuildNotice = { job: 'shop', number: 3, phase: 'COMPLETED', status: 'SUCCESS' };
    const first = await notify(ci.id, ci.webhookSecret, notice);
    const again = await notify(ci.id, ci.webhookSecret, notice);
    expect(first).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(again).toMatchObject({
      status: 200,
      body: { eventId: (first.body as { eventId: string }).eventId, duplicate: true },
    });
    const source = encodeURIComponent(`connection:${ci.id}`);
    const events = (await t.http().get(`/events?source=${source}`).set(admin).expect(200)).body.items;
    expect(events).toEqual([
      expect.objectContaining({ name: 'jenkins.build.completed', idempotencyKey: 'shop#3:COMPLETED' }),
    ]);
  });

  it('builds a branch with the crumb, the API token and BRANCH/REVISION when it gets a new head and the settings ask for it', async () => {
    const id = await project('Jenkins build on update');
    const ci = await connection('jenkins');
    const routeName = `project:${id}:jenkins:build-on-update`;
    const badTemplate = await putSettings(id, 'jenkins', {
      connectionId: ci.id,
      buildOnUpdate: { job: 'team/shop', parameters: { TARGET: '{{secrets.x}}' } },
    }).expect(422);
    expect(badTemplate.body.details).toEqual([
      { path: '/settings/buildOnUpdate/parameters/TARGET', message: expect.stringContaining('data') },
    ]);
    await putSettings(id, 'jenkins', {
      connectionId: ci.id,
      buildOnUpdate: {
        job: 'team/shop',
        parameters: { TARGET: 'staging', FEATURE: '{{data.feature.externalId}}' },
      },
    }).expect(200);
    expect(await routeNames()).toContain(routeName);

    const before = jenkins.queued.length;
    await featureBranch(id, 'SHOP-2', 'shop', 'beef2');
    const [queued] = (
      await waitFor(
        () => Promise.resolve(jenkins.queued.slice(before)),
        (found) => found.length > 0,
      )
    ).slice(0, 1);
    expect(queued).toMatchObject({
      jobPath: '/job/team/job/shop',
      parameters: { BRANCH: 'feature/SHOP-2', REVISION: 'beef2', TARGET: 'staging', FEATURE: 'SHOP-2' },
    });
    expect(queued.headers.authorization).toBe(
      `Basic ${Buffer.from(`${USER}:${API_TOKEN}`).toString('base64')}`,
    );
    expect(queued.headers['jenkins-crumb']).toMatch(/^crumb-/);
    const job = await waitFor(
      async () =>
        (
          (await t.http().get('/jobs?type=jenkins.build&limit=200').set(admin).expect(200)).body
            .items as JobBody[]
        ).find((found) => (found.result as { queueUrl?: string } | null)?.queueUrl !== undefined),
      (found) => found !== undefined,
    );
    expect(job!.result).toEqual({
      queueUrl: expect.stringMatching(new RegExp(`^${jenkins.url}/queue/item/\\d+/$`)),
    });

    await t.http().delete(`/projects/${id}/providers/jenkins`).set(admin).expect(204);
    expect(await routeNames()).not.toContain(routeName);
  });

  it('ends a jenkins.build job dead with AUTH when the credentials are wrong, and refuses a connection of another provider', async () => {
    const ci = await connection('jenkins', {
      type: 'basic',
      username: USER,
      password: 'not-the-api-token-000',
    });
    const created = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'jenkins.build', payload: { connectionId: ci.id, job: 'shop', parameters: { X: '1' } } })
      .expect(201);
    const done = await waitFor(
      async () => (await t.http().get(`/jobs/${created.body.id}`).set(admin).expect(200)).body as JobBody,
      (found) => ['succeeded', 'dead'].includes(found.status),
      20_000,
    );
    expect(done).toMatchObject({ status: 'dead', lastError: { code: 'AUTH' } });

    const http = await connection('http');
    const refused = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'jenkins.build', payload: { connectionId: http.id, job: 'shop' } })
      .expect(422);
    expect(refused.body.details).toEqual([
      { field: 'payload.connectionId', problems: [expect.stringContaining('not a jenkins one')] },
    ]);
  });
});
