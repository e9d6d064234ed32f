import { ProjectRecordsService } from '../src/modules/projects/project-records.service.js';
import { startFakeTargetprocess } from './fakes/targetprocess.js';
import type { FakeTargetprocess, FakeTpCollection } from './fakes/targetprocess.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const TOKEN = 'tp-access-token-5f2c8a91QRSTUVWX';
const WRONG = 'tp-wrong-token-0d9e8f7aABCDEFGH';

interface Person {
  id: string;
  key: { Authorization: string };
}

interface Job {
  id: string;
  status: string;
  lastError: { code: string; message: string } | null;
  logs: { message: string }[];
}

interface Feature {
  id: string;
  externalId: string;
  type: string;
  title: string;
  owner: string | null;
  state: string;
  url: string | null;
}

describe(`TargetProcess provider (${mode})`, () => {
  let t: TestApp;
  let tp: FakeTargetprocess;
  let serial = 0;

  beforeAll(async () => {
    t = await startTestApp();
    tp = await startFakeTargetprocess({ token: TOKEN });
  });
  afterAll(async () => {
    await t.close();
    await tp.close();
  });

  const person = async (): Promise<Person> => {
    const email = `tp-${++serial}-${Date.now()}@projects.test`;
    const { id } = (
      await t.http().post('/accounts').set(admin).send({ name: email, email, role: 'viewer' }).expect(201)
    ).body as { id: string };
    const { key } = (
      await t.http().post(`/accounts/${id}/api-keys`).set(admin).send({ name: 'k' }).expect(201)
    ).body as { key: string };
    return { id, key: bearer(key) };
  };

  /** A project managed by a new person, with a TargetProcess connection of theirs and settings for it. */
  const setUp = async (settings: Record<string, unknown>, token = TOKEN) => {
    const owner = await person();
    const projectId = (
      (
        await t
          .http()
          .post('/projects')
          .set(owner.key)
          .send({ name: `TP ${serial}` })
          .expect(201)
      ).body as {
        id: string;
      }
    ).id;
    const connectionId = (
      (
        await t
          .http()
          .post('/connections')
          .set(owner.key)
          .send({
            provider: 'targetprocess',
            name: `tp-${serial}`,
            config: { baseUrl: tp.url },
            credentials: { type: 'bearer', token },
          })
          .expect(201)
      ).body as { id: string }
    ).id;
    await t
      .http()
      .put(`/projects/${projectId}/providers/targetprocess`)
      .set(owner.key)
      .send({ connectionId, ...settings })
      .expect(200);
    return { owner, projectId, connectionId };
  };

  /** Asks for a sync and waits for its job to end; the job as `GET /jobs/{id}` shows it. */
  const sync = async (owner: Person, projectId: string): Promise<Job> => {
    const started = await t
      .http()
      .post(`/projects/${projectId}/repositories/sync`)
      .query({ provider: 'targetprocess' })
      .set(owner.key)
      .expect(202);
    const [{ jobId }] = started.body.jobs as { provider: string; jobId: string }[];
    return waitFor(
      async () => (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as Job,
      (job) => ['succeeded', 'dead', 'cancelled'].includes(job.status),
      30_000,
    );
  };

  const features = async (owner: Person, projectId: string): Promise<Feature[]> => {
    const all: Feature[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await t
          .http()
          .get(`/projects/${projectId}/features`)
          .query({ limit: 200, ...(cursor ? { cursor } : {}) })
          .set(owner.key)
          .expect(200)
      ).body as { items: Feature[]; nextCursor: string | null };
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  };

  const featureEvents = async (projectId: string) =>
    (
      (
        await t
          .http()
          .get('/events')
          .query({ name: 'project.feature.updated', limit: 200 })
          .set(admin)
          .expect(200)
      ).body as { items: { data: { project: string; externalId: string; state: string; was: string } }[] }
    ).items
      .filter((event) => event.data.project === projectId)
      .map(({ data }) => ({ externalId: data.externalId, state: data.state, was: data.was }));

  const addMany = (collection: FakeTpCollection, count: number, project: number) =>
    Array.from({ length: count }, (_, i) => tp.add(collection, { name: `${collection} ${i}`, project }));

  it('pulls UserStories, Bugs and Features of the chosen TargetProcess projects page by page', async () => {
    const stories = addMany('UserStories', 230, 11);
    addMany('Bugs', 120, 11);
    const [epic] = addMany('Features', 5, 11);
    addMany('UserStories', 3, 99);
    const { owner, projectId } = await setUp({ projectIds: [11] });
    const before = tp.requests.length;

    const job = await sync(owner, projectId);

    expect(job.status).toBe('succeeded');
    const found = await features(owner, projectId);
    expect(found).toHaveLength(355);
    const byType = (type: string) => found.filter((feature) => feature.type === type).length;
    expect([byType('story'), byType('bug'), byType('feature')]).toEqual([230, 120, 5]);
    expect(found.find((feature) => feature.externalId === String(stories[0].Id))).toMatchObject({
      type: 'story',
      title: 'UserStories 0',
      state: 'Open',
      owner: 'jdoe',
      url: `${tp.url}/entity/${stories[0].Id}`,
    });
    expect(found.find((feature) => feature.externalId === String(epic.Id))?.type).toBe('feature');
    const calls = tp.requests.slice(before);
    expect(calls.map(({ collection, query }) => [collection, query.skip])).toEqual([
      ['UserStories', '0'],
      ['UserStories', '100'],
      ['UserStories', '200'],
      ['Bugs', '0'],
      ['Bugs', '100'],
      ['Features', '0'],
    ]);
    expect(calls[0].query).toMatchObject({
      format: 'json',
      take: '100',
      where: '(Project.Id in (11))',
      include: '[Id,Name,EntityState,Owner,Project]',
    });

    const again = await sync(owner, projectId);
    expect(again.logs.map((log) => log.message)).toContain('targetprocess: 355 items, 0 written, 0 closed');
  });

  it('updates a changed item, announcing its new state, and closes a gone one once', async () => {
    const [kept, changed, gone] = ['Kept', 'Changed', 'Gone'].map((name) =>
      tp.add('UserStories', { name, project: 12 }),
    );
    const { owner, projectId } = await setUp({ projectIds: [12] });
    expect((await sync(owner, projectId)).status).toBe('succeeded');

    tp.change(changed.Id, { name: 'Changed again', state: 'In Progress' });
    tp.remove(gone.Id);
    expect((await sync(owner, projectId)).status).toBe('succeeded');
    expect((await sync(owner, projectId)).status).toBe('succeeded');

    const found = await features(owner, projectId);
    const stateOf = (id: number) => found.find((feature) => feature.externalId === String(id));
    expect(stateOf(kept.Id)).toMatchObject({ title: 'Kept', state: 'Open' });
    expect(stateOf(changed.Id)).toMatchObject({ title: 'Changed again', state: 'In Progress' });
    expect(stateOf(gone.Id)).toMatchObject({ title: 'Gone', state: 'closed' });
    expect((await featureEvents(projectId)).sort((a, b) => a.externalId.localeCompare(b.externalId))).toEqual(
      [
        { externalId: String(changed.Id), state: 'In Progress', was: 'Open' },
        { externalId: String(gone.Id), state: 'closed', was: 'Open' },
      ],
    );
  });

  it('keeps the token out of the job and fails a refused one with AUTH, marking the connection', async () => {
    tp.add('Bugs', { name: 'Secret bug', project: 13 });
    const { owner, projectId } = await setUp({ projectIds: [13] });
    const good = await sync(owner, projectId);
    expect(good.status).toBe('succeeded');
    expect(good.logs.some((log) => log.message.includes('access_token=***'))).toBe(true);
    expect(JSON.stringify(good)).not.toContain(TOKEN);

    const refused = await setUp({ projectIds: [13] }, WRONG);
    const job = await sync(refused.owner, refused.projectId);
    expect(job.status).toBe('dead');
    expect(job.lastError?.code).toBe('AUTH');
    expect(JSON.stringify(job)).not.toContain(WRONG);
    const connection = (
      await t.http().get(`/connections/${refused.connectionId}`).set(refused.owner.key).expect(200)
    ).body as { state: string };
    expect(connection.state).toBe('bad_authentication');
    expect(JSON.stringify(connection)).not.toContain(WRONG);
  });

  it('answers the connection test, without the token in what it says', async () => {
    const { owner, connectionId } = await setUp({});
    const ok = await t.http().post(`/connections/${connectionId}/test`).set(owner.key).expect(200);
    expect(ok.body).toMatchObject({ ok: true });
    const wrong = await setUp({}, WRONG);
    const refused = await t.http().post(`/connections/${wrong.connectionId}/test`).set(wrong.owner.key);
    expect(refused.body).toMatchObject({ ok: false, code: 'AUTH' });
    expect(JSON.stringify(refused.body)).not.toContain(WRONG);
  });

  it('refuses a Next link to another site and then closes nothing', async () => {
    addMany('UserStories', 101, 14);
    const { owner, projectId } = await setUp({ projectIds: [14] });
    expect((await sync(owner, projectId)).status).toBe('succeeded');
    tp.setNextOrigin('http://127.0.0.2:9');
    try {
      const job = await sync(owner, projectId);
      expect(job.status).toBe('dead');
      expect(job.lastError?.message).toContain('leaves');
      expect(JSON.stringify(job)).not.toContain(TOKEN);
    } finally {
      tp.setNextOrigin(null);
    }
    expect((await features(owner, projectId)).filter((feature) => feature.state === 'closed')).toEqual([]);
  });

  it('schedules the sync every syncEvery, and refuses settings that are not its own', async () => {
    const { owner, projectId, connectionId } = await setUp({ syncEvery: '15m', closedState: 'Gone' });
    const schedules = (
      (await t.http().get('/schedules').query({ limit: 200 }).set(admin).expect(200)).body as {
        items: { name: string; jobType: string; payload: unknown }[];
      }
    ).items;
    expect(
      schedules.find((schedule) => schedule.name === `project:${projectId}:targetprocess:sync`),
    ).toMatchObject({
      jobType: 'projects.sync',
      payload: { projectId, provider: 'targetprocess' },
    });
    const put = (settings: object) =>
      t.http().put(`/projects/${projectId}/providers/targetprocess`).set(owner.key).send(settings);
    const refused = await put({ connectionId, projectIds: ['eleven'], repositories: [] }).expect(422);
    expect((refused.body.details as { path: string }[]).map((problem) => problem.path).sort()).toEqual([
      '/settings',
      '/settings/projectIds/0',
    ]);
    await put({ connectionId, syncEvery: 'now and then' }).expect(422);
  });

  it('links a branch named for an item when the item arrives', async () => {
    const { owner, projectId } = await setUp({ projectIds: [15] });
    const github = (
      (
        await t
          .http()
          .post('/connections')
          .set(owner.key)
          .send({ provider: 'github', name: 'gh', config: {}, credentials: { type: 'none' } })
          .expect(201)
      ).body as { id: string }
    ).id;
    await t
      .http()
      .put(`/projects/${projectId}/providers/github`)
      .set(owner.key)
      .send({
        connectionId: github,
        repositories: ['acme/shop'],
        branches: [{ pattern: '^feature/(?<feature>[0-9]+)-', parent: 'develop' }],
      })
      .expect(200);
    const records = t.app.get(ProjectRecordsService);
    const repository = await records.upsertRepository(projectId, {
      provider: 'github',
      owner: 'acme',
      name: 'shop',
    });
    const story = tp.add('UserStories', { name: 'One-click checkout', project: 15 });
    const branch = await records.upsertBranch(projectId, repository.id, {
      name: `feature/${story.Id}-checkout`,
      headSha: 'a1',
    });
    expect(branch.featureId).toBeNull();

    expect((await sync(owner, projectId)).status).toBe('succeeded');

    const [feature] = await features(owner, projectId);
    expect(feature).toMatchObject({ externalId: String(story.Id) });
    const linked = (
      await t
        .http()
        .get(`/projects/${projectId}/branches`)
        .query({ featureId: feature.id, fields: 'name' })
        .set(owner.key)
        .expect(200)
    ).body as { items: { name: string }[] };
    expect(linked.items).toEqual([{ name: `feature/${story.Id}-checkout` }]);
  });
});
