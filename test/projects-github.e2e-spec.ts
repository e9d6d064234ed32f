import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { ProjectRecordsService } from '../src/modules/projects/project-records.service.js';
import { FakeGithub } from './fakes/github.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'ghp_fake0123456789abcdefghijklmnopqrstuv';

interface Branch {
  id: string;
  name: string;
  headSha: string;
  parent: string | null;
  mergedIntoParent: boolean;
  featureId: string | null;
}

describe(`projects with GitHub (${mode})`, () => {
  let t: TestApp;
  let github: FakeGithub;
  let serial = 0;

  beforeAll(async () => {
    github = await new FakeGithub({ token: TOKEN, maxPerPage: 2 }).start();
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    await github.stop();
  });

  /** A project following `repo` through a GitHub connection, with a feature SHOP-<n> known. */
  async function setUp(repo: string) {
    const { id: connectionId, webhookSecret } = (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'github',
          name: `github-${++serial}`,
          config: { apiBaseUrl: github.url },
          credentials: { type: 'bearer', token: TOKEN },
        })
        .expect(201)
    ).body as { id: string; webhookSecret: string };
    const projectId = (
      (
        await t
          .http()
          .post('/projects')
          .set(admin)
          .send({ name: `GitHub ${serial}` })
          .expect(201)
      ).body as {
        id: string;
      }
    ).id;
    await t
      .http()
      .put(`/projects/${projectId}/providers/github`)
      .set(admin)
      .send({
        connectionId,
        repositories: [repo],
        branches: [
          { pattern: '^feature/(?<feature>SHOP-[0-9]+)', parent: 'develop' },
          { pattern: '^develop$', parent: 'main' },
        ],
      })
      .expect(200);
    const feature = await t.app.get(ProjectRecordsService).upsertFeature(projectId, {
      provider: 'planning',
      externalId: 'SHOP-12',
      type: 'story',
      title: 'Gift cards',
      state: 'open',
    });
    return { connectionId, webhookSecret, projectId, featureId: feature.id };
  }

  async function deliver(connectionId: string, secret: string, event: string, payload: unknown) {
    const body = JSON.stringify(payload);
    return t
      .http()
      .post(`/webhooks/${connectionId}`)
      .set({
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': await sign(secret, body),
      })
      .send(body)
      .expect(202);
  }

  const branches = async (projectId: string): Promise<Branch[]> =>
    (
      (await t.http().get(`/projects/${projectId}/branches`).set(admin).expect(200)).body as {
        items: Branch[];
      }
    ).items;

  /** Waits until every projects job has finished, and fails when one did not succeed. */
  async function settled(): Promise<void> {
    const jobs = await waitFor(
      async () =>
        (await t.http().get('/jobs?limit=200').set(admin).expect(200)).body.items as {
          type: string;
          status: string;
        }[],
      (items) =>
        items
          .filter((job) => job.type.startsWith('projects.'))
          .every((job) => job.status !== 'queued' && job.status !== 'running'),
    );
    const failed = jobs.filter((job) => job.type.startsWith('projects.') && job.status !== 'succeeded');
    expect(failed).toEqual([]);
  }

  it('moves branch heads from signed pushes, and sets parents and feature links from the patterns', async () => {
    const repo = 'acme/shop';
    github.createRepository('acme', 'shop');
    const { connectionId, webhookSecret, projectId, featureId } = await setUp(repo);

    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'develop'));
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'feature/SHOP-12', 'develop'));
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'feature/SHOP-12'));
    await settled();

    expect(await branches(projectId)).toEqual([
      expect.objectContaining({
        name: 'develop',
        headSha: github.head(repo, 'develop'),
        parent: 'main',
        featureId: null,
      }),
      expect.objectContaining({
        name: 'feature/SHOP-12',
        headSha: github.head(repo, 'feature/SHOP-12'),
        parent: 'develop',
        featureId,
      }),
    ]);
    const updates = (
      await t.http().get('/events').query({ name: 'project.branch.updated' }).set(admin).expect(200)
    ).body.items.filter((event: { data: { project: string } }) => event.data.project === projectId);
    // Two pushes: two updates, or one when the second was applied first (it then asks GitHub).
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.map((event: { data: { headSha: string } }) => event.data.headSha)).toContain(
      github.head(repo, 'feature/SHOP-12'),
    );

    // A branch created without a push takes its head from the REST API; a deleted one goes.
    await deliver(connectionId, webhookSecret, 'create', github.createBranch(repo, 'hotfix', 'main'));
    await settled();
    expect((await branches(projectId)).find((b) => b.name === 'hotfix')).toMatchObject({
      headSha: github.head(repo, 'main'),
    });
    await deliver(connectionId, webhookSecret, 'delete', github.deleteBranch(repo, 'hotfix'));
    await settled();
    expect((await branches(projectId)).map((b) => b.name)).toEqual(['develop', 'feature/SHOP-12']);
  });

  it('never moves a head back when pushes arrive out of order, asking GitHub where the branch is', async () => {
    const repo = 'acme/late';
    github.createRepository('acme', 'late');
    const { connectionId, webhookSecret, projectId } = await setUp(repo);
    const first = github.push(repo, 'develop');
    const second = github.push(repo, 'develop');
    github.calls.length = 0;

    await deliver(connectionId, webhookSecret, 'push', second);
    await settled();
    await deliver(connectionId, webhookSecret, 'push', first);
    await settled();

    expect((await branches(projectId)).map((b) => [b.name, b.headSha])).toEqual([
      ['develop', github.head(repo, 'develop')],
    ]);
    // Neither push continued from a head Junction knew: both asked GitHub.
    expect(github.calls).toEqual([
      `GET /repos/${repo}/branches/develop`,
      `GET /repos/${repo}/branches/develop`,
    ]);
  });

  it('marks a branch merged when its pull request is merged', async () => {
    const repo = 'acme/cart';
    github.createRepository('acme', 'cart');
    const { connectionId, webhookSecret, projectId } = await setUp(repo);
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'develop'));
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'feature/SHOP-7', 'develop'));
    await settled();
    expect((await branches(projectId)).find((b) => b.name === 'feature/SHOP-7')?.mergedIntoParent).toBe(
      false,
    );

    await deliver(
      connectionId,
      webhookSecret,
      'pull_request',
      github.mergePullRequest(repo, 'feature/SHOP-7', 'develop'),
    );
    await settled();
    expect((await branches(projectId)).find((b) => b.name === 'feature/SHOP-7')?.mergedIntoParent).toBe(true);
  });

  it('reconciles branches created, moved and deleted while webhooks were missed, page by page', async () => {
    const repo = 'acme/api';
    github.createRepository('acme', 'api');
    const { connectionId, webhookSecret, projectId } = await setUp(repo);
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'develop'));
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'feature/SHOP-1', 'develop'));
    await deliver(connectionId, webhookSecret, 'push', github.push(repo, 'feature/SHOP-2', 'develop'));
    await settled();

    // None of these reach Junction.
    github.push(repo, 'feature/SHOP-3', 'develop');
    github.push(repo, 'feature/SHOP-1');
    github.deleteBranch(repo, 'feature/SHOP-2');
    github.mergePullRequest(repo, 'feature/SHOP-1', 'develop');
    github.calls.length = 0;

    const started = await t.http().post(`/projects/${projectId}/repositories/sync`).set(admin).expect(202);
    expect(started.body.jobs).toEqual([{ provider: 'github', jobId: expect.any(String) }]);
    await settled();

    const after = await branches(projectId);
    expect(after.map((b) => [b.name, b.headSha])).toEqual(
      ['develop', 'feature/SHOP-1', 'feature/SHOP-3', 'main'].map((name) => [name, github.head(repo, name)]),
    );
    expect(after.find((b) => b.name === 'feature/SHOP-1')?.mergedIntoParent).toBe(true);
    expect(after.find((b) => b.name === 'feature/SHOP-3')?.mergedIntoParent).toBe(false);
    // Four branches at two per page: two pages, the second found through the Link header.
    expect(github.calls.filter((call) => call.startsWith(`GET /repos/${repo}/branches?`))).toEqual([
      `GET /repos/${repo}/branches?per_page=100`,
      `GET /repos/${repo}/branches?per_page=100&page=2`,
    ]);
    expect(github.calls.some((call) => call.includes('/compare/develop...feature/SHOP-1'))).toBe(true);
  });

  it('fails the sync with AUTH and marks the connection when GitHub refuses the token', async () => {
    const repo = 'acme/docs';
    github.createRepository('acme', 'docs');
    const { connectionId, projectId } = await setUp(repo);
    await t
      .http()
      .put(`/connections/${connectionId}/credentials`)
      .set(admin)
      .send({ credentials: { type: 'bearer', token: 'ghp_revoked' } })
      .expect(200);
    const { jobId } = (await t.http().post(`/projects/${projectId}/repositories/sync`).set(admin).expect(202))
      .body.jobs[0] as { jobId: string };
    const job = await waitFor(
      async () =>
        (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as {
          status: string;
          lastError: unknown;
        },
      (found) => found.status === 'dead',
    );
    expect(job.lastError).toMatchObject({ code: 'AUTH' });
    expect(JSON.stringify(job)).not.toContain('ghp_revoked');
    expect((await t.http().get(`/connections/${connectionId}`).set(admin).expect(200)).body.state).toBe(
      'bad_authentication',
    );
  });

  it('refuses a sync when no provider of the project syncs', async () => {
    const projectId = (await t.http().post('/projects').set(admin).send({ name: 'Empty' }).expect(201)).body
      .id;
    await t.http().post(`/projects/${projectId}/repositories/sync`).set(admin).expect(409);
  });
});
