import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import type { ConsumeMessage } from 'amqplib';
import { FakeGithub } from './fakes/github.js';
import { notificationBody, postNotification, startFakeJenkins } from './fakes/jenkins.js';
import type { FakeJenkins } from './fakes/jenkins.js';
import { startFakeTargetprocess } from './fakes/targetprocess.js';
import type { FakeTargetprocess } from './fakes/targetprocess.js';
import { BROKER_URL, TestBroker } from './support/rabbit.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const GITHUB_TOKEN = 'ghp_scenario0123456789abcdefghijklmnop';
const JENKINS_USER = 'ci-bot';
const JENKINS_TOKEN = '11f0e1d2c3b4a5968778695a4b3c2d1e0f';
const TP_TOKEN = 'tp-scenario-token-0123456789';
const BROKER_PASSWORD = 'projects-scenario-broker-pw-9f8e';

interface LatestBuild {
  job: string;
  number: number;
  status: string;
  revision: string;
}

interface FeatureView {
  externalId: string;
  title: string;
  repositories: {
    owner: string;
    name: string;
    branches: { name: string; headSha: string; parent: string; latestBuild: LatestBuild | null }[];
  }[];
}

/**
 * One team's day, every tool a local fake and the bus the real RabbitMQ: a story planned in
 * TargetProcess, a signed GitHub push to its branch, the build Jenkins is asked for because of it,
 * Jenkins' notification of that build, and the branch update on the company's bus.
 */
describe(`projects: push, build, notification (${mode})`, () => {
  let t: TestApp;
  let base: string;
  let github: FakeGithub;
  let jenkins: FakeJenkins;
  let tp: FakeTargetprocess;
  let broker: TestBroker;
  let brokerUser: string;

  beforeAll(async () => {
    github = await new FakeGithub({ token: GITHUB_TOKEN }).start();
    jenkins = await startFakeJenkins({ username: JENKINS_USER, apiToken: JENKINS_TOKEN, csrf: true });
    tp = await startFakeTargetprocess({ token: TP_TOKEN });
    broker = await TestBroker.open();
    brokerUser = await broker.user(BROKER_PASSWORD);
    t = await startTestApp();
    // Jenkins' plugin posts over HTTP, as it would to a running Junction.
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
    await broker?.close();
    await Promise.all([github.stop(), jenkins.close(), tp.close()]);
  });

  const connect = async (provider: string, config: object, credentials: object) =>
    (
      await t
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider, name: `${provider}-scenario`, config, credentials })
        .expect(201)
    ).body as { id: string; webhookSecret?: string };

  const settle = (projectId: string, provider: string, settings: object) =>
    t.http().put(`/projects/${projectId}/providers/${provider}`).set(admin).send(settings).expect(200);

  it('builds the branch a signed push moved, and shows the build Jenkins reports as its latest', async () => {
    const story = tp.add('UserStories', { name: 'Gift cards', project: 7 });
    github.createRepository('acme', 'store');
    github.push('acme/store', 'develop');

    const githubConnection = await connect(
      'github',
      { apiBaseUrl: github.url },
      { type: 'bearer', token: GITHUB_TOKEN },
    );
    const jenkinsConnection = await connect(
      'jenkins',
      { baseUrl: jenkins.url },
      { type: 'basic', username: JENKINS_USER, password: JENKINS_TOKEN },
    );
    const tpConnection = await connect(
      'targetprocess',
      { baseUrl: tp.url },
      { type: 'bearer', token: TP_TOKEN },
    );
    const exchange = await broker.exchange('projects');
    const sink = await broker.queue('branch-updates');
    await broker.channel.bindQueue(sink, exchange, 'project.#');
    const onTheBus: ConsumeMessage[] = [];
    await broker.channel.consume(sink, (message) => message && onTheBus.push(message), { noAck: true });
    const bus = await connect(
      'amqp',
      { url: BROKER_URL, exchange },
      { type: 'basic', username: brokerUser, password: BROKER_PASSWORD },
    );

    const projectId = (await t.http().post('/projects').set(admin).send({ name: 'Store' }).expect(201)).body
      .id as string;
    await settle(projectId, 'targetprocess', { connectionId: tpConnection.id, projectIds: [7] });
    await settle(projectId, 'github', {
      connectionId: githubConnection.id,
      repositories: ['acme/store'],
      branches: [{ pattern: '^feature/(?<feature>[0-9]+)-', parent: 'develop' }],
    });
    await settle(projectId, 'jenkins', {
      connectionId: jenkinsConnection.id,
      buildOnUpdate: { job: 'store', parameters: { STORY: '{{data.feature.externalId}}' } },
    });
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: `store branches to the bus ${broker.suffix}`,
        eventPattern: 'project.branch.updated',
        filter: { 'data.project': projectId },
        jobType: 'amqp.publish',
        payloadTemplate: { connectionId: bus.id },
      })
      .expect(201);

    // The planning tool first: the story becomes the project's feature.
    const sync = await t.http().post(`/projects/${projectId}/repositories/sync`).set(admin).expect(202);
    const synced = await waitFor(
      async () =>
        Promise.all(
          (sync.body.jobs as { jobId: string }[]).map(
            async ({ jobId }) =>
              (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body.status as string,
          ),
        ),
      (statuses) => statuses.every((status) => status === 'succeeded' || status === 'dead'),
    );
    expect(synced).toEqual(['succeeded', 'succeeded']);
    const features = (await t.http().get(`/projects/${projectId}/features`).set(admin).expect(200)).body
      .items;
    expect(features).toEqual([
      expect.objectContaining({ externalId: String(story.Id), title: 'Gift cards', type: 'story' }),
    ]);
    const featureId = features[0].id as string;

    // A developer pushes to the story's branch; GitHub signs the webhook.
    const branch = `feature/${story.Id}-gift-cards`;
    const push = JSON.stringify(github.push('acme/store', branch, 'develop'));
    const head = github.head('acme/store', branch)!;
    await t
      .http()
      .post(`/webhooks/${githubConnection.id}`)
      .set({
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': await sign(githubConnection.webhookSecret!, push),
      })
      .send(push)
      .expect(202);

    // project.branch.updated -> the project's built-in route -> jenkins.build, with a crumb.
    const [queued] = await waitFor(
      () => Promise.resolve(jenkins.queued),
      (builds) => builds.length > 0,
    );
    expect(queued.jobPath).toBe('/job/store');
    expect(queued.parameters).toEqual({ BRANCH: branch, REVISION: head, STORY: String(story.Id) });

    // Jenkins runs it and its Notification plugin reports; the token is the connection's secret.
    const notify = (phase: 'STARTED' | 'COMPLETED', status?: 'SUCCESS') =>
      postNotification(
        `${base}/webhooks/${jenkinsConnection.id}?token=${encodeURIComponent(jenkinsConnection.webhookSecret!)}`,
        notificationBody(jenkins.url, {
          job: 'store',
          number: 41,
          phase,
          status,
          branch: `origin/${branch}`,
          commit: head,
          timestamp: Date.now(),
        }),
      );
    expect((await notify('STARTED')).status).toBe(202);
    expect((await notify('COMPLETED', 'SUCCESS')).status).toBe(202);

    const view = await waitFor(
      async () =>
        (await t.http().get(`/projects/${projectId}/features/${featureId}`).set(admin).expect(200))
          .body as FeatureView,
      (found) => found.repositories[0]?.branches[0]?.latestBuild?.status === 'success',
    );
    expect(view.repositories).toEqual([
      expect.objectContaining({
        owner: 'acme',
        name: 'store',
        branches: [
          expect.objectContaining({
            name: branch,
            headSha: head,
            parent: 'develop',
            latestBuild: expect.objectContaining({
              job: 'store',
              number: 41,
              status: 'success',
              revision: head,
            }),
          }),
        ],
      }),
    ]);

    // The same update went to the company's bus.
    await waitFor(
      () => Promise.resolve(onTheBus.length),
      (count) => count > 0,
    );
    expect(onTheBus[0].fields.routingKey).toBe('project.branch.updated');
    expect(JSON.parse(onTheBus[0].content.toString())).toMatchObject({
      name: 'project.branch.updated',
      data: { project: projectId, branch, headSha: head, feature: { externalId: String(story.Id) } },
    });
  });
});
