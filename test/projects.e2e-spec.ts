import { ProjectRecordsService } from '../src/modules/projects/project-records.service.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);

interface Person {
  id: string;
  email: string;
  key: { Authorization: string };
}

describe(`projects (${mode})`, () => {
  let t: TestApp;
  let serial = 0;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** An account (a viewer unless told) with an API key of its own. */
  const person = async (email = `person-${++serial}-${Date.now()}@projects.test`): Promise<Person> => {
    const { id } = (
      await t.http().post('/accounts').set(admin).send({ name: email, email, role: 'viewer' }).expect(201)
    ).body as { id: string };
    const { key } = (
      await t.http().post(`/accounts/${id}/api-keys`).set(admin).send({ name: 'k' }).expect(201)
    ).body as { key: string };
    return { id, email, key: bearer(key) };
  };
  const project = async (owner: Person, name: string): Promise<string> =>
    ((await t.http().post('/projects').set(owner.key).send({ name }).expect(201)).body as { id: string }).id;
  const invitationToken = async (email: string): Promise<string> => {
    const events = (
      await t.http().get('/events').query({ name: 'project.invitation' }).set(admin).expect(200)
    ).body as { items: { data: { email: string; token: string } }[] };
    return events.items.find((event) => event.data.email === email)!.data.token;
  };

  it('lets any account make a project it manages, seen only by its members and admins', async () => {
    const [ann, bob] = [await person(), await person()];
    const created = await t
      .http()
      .post('/projects')
      .set(ann.key)
      .send({ name: 'Shop Redesign 2027' })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'Shop Redesign 2027', slug: 'shop-redesign-2027' });
    const id = created.body.id as string;

    expect((await t.http().get(`/projects/${id}/members`).set(ann.key).expect(200)).body.items).toEqual([
      expect.objectContaining({ accountId: ann.id, manager: true }),
    ]);
    await t.http().get(`/projects/${id}`).set(bob.key).expect(404);
    await t.http().get(`/projects/${id}/members`).set(bob.key).expect(404);
    expect((await t.http().get('/projects').set(bob.key).expect(200)).body.items).toEqual([]);
    expect(
      (await t.http().get('/projects').set(ann.key).expect(200)).body.items.map((p: { id: string }) => p.id),
    ).toEqual([id]);
    await t.http().get(`/projects/${id}`).set(admin).expect(200);
    const taken = await t
      .http()
      .post('/projects')
      .set(bob.key)
      .send({ name: 'x', slug: 'shop-redesign-2027' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('SLUG_TAKEN');
  });

  it('adds an account by email; only managers add and remove members, and the last manager stays', async () => {
    const [ann, bob, cid] = [await person(), await person(), await person()];
    const id = await project(ann, 'Members');

    const added = await t
      .http()
      .post(`/projects/${id}/members`)
      .set(ann.key)
      .send({ email: bob.email })
      .expect(201);
    expect(added.body).toEqual({ member: expect.objectContaining({ accountId: bob.id, manager: false }) });
    await t.http().get(`/projects/${id}`).set(bob.key).expect(200);
    const refused = await t.http().post(`/projects/${id}/members`).set(bob.key).send({ email: cid.email });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('NOT_A_MANAGER');

    const last = await t.http().delete(`/projects/${id}/members/${ann.id}`).set(ann.key);
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('LAST_MANAGER');
    const demoted = await t.http().post(`/projects/${id}/members`).set(ann.key).send({ email: ann.email });
    expect([demoted.status, demoted.body.error]).toEqual([409, 'LAST_MANAGER']);
    await t.http().delete(`/projects/${id}/members/${bob.id}`).set(ann.key).expect(204);
    await t.http().get(`/projects/${id}`).set(bob.key).expect(404);
  });

  it('invites an email without an account; the invitation joins once, and only its own email', async () => {
    const ann = await person();
    const id = await project(ann, 'Invitations');
    const email = `newcomer-${Date.now()}@projects.test`;

    const invited = await t
      .http()
      .post(`/projects/${id}/members`)
      .set(ann.key)
      .send({ email, manager: true });
    expect(invited.status).toBe(202);
    expect(invited.body.invitation).toMatchObject({ email, manager: true });
    const token = await invitationToken(email);

    const stranger = await person();
    expect((await t.http().post(`/invitations/${token}/accept`).set(stranger.key)).body.error).toBe(
      'INVITATION_NOT_YOURS',
    );
    const newcomer = await person(email);
    const joined = await t.http().post(`/invitations/${token}/accept`).set(newcomer.key).expect(200);
    expect(joined.body).toMatchObject({ accountId: newcomer.id, manager: true });
    await t.http().get(`/projects/${id}`).set(newcomer.key).expect(200);

    const again = await t.http().post(`/invitations/${token}/accept`).set(newcomer.key);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('INVITATION_USED');
    await t.http().post('/invitations/not-a-token/accept').set(newcomer.key).expect(404);
  });

  it('makes project tokens that act only inside their project, shown once, revoked at once', async () => {
    const ann = await person();
    const [id, other] = [await project(ann, 'Tokens'), await project(ann, 'Other')];

    const created = await t
      .http()
      .post(`/projects/${id}/tokens`)
      .set(ann.key)
      .send({ label: 'CI server' })
      .expect(201);
    const key = bearer(created.body.key as string);
    expect(created.body).toMatchObject({ label: 'CI server', accountId: ann.id, revokedAt: null });
    const listed = (await t.http().get(`/projects/${id}/tokens`).set(ann.key).expect(200)).body.items;
    expect(listed).toEqual([expect.not.objectContaining({ key: expect.anything() })]);
    expect(JSON.stringify(listed)).not.toContain(created.body.key);

    await t.http().get(`/projects/${id}`).set(key).expect(200);
    await t.http().get(`/projects/${id}/members`).set(key).expect(200);
    for (const path of [
      `/projects/${other}`,
      '/projects',
      '/accounts/me',
      `/accounts/${ann.id}/api-keys`,
      '/events',
    ]) {
      const refused = await t.http().get(path).set(key);
      expect([path, refused.status, refused.body.error]).toEqual([path, 403, 'FORBIDDEN']);
    }

    await t.http().delete(`/projects/${id}/tokens/${created.body.id}`).set(ann.key).expect(200);
    expect((await t.http().get(`/projects/${id}`).set(key)).status).toBe(401);
  });

  it('keeps each provider’s settings for a project, checked against its schema and the members’ connections', async () => {
    const [ann, bob, eve] = [await person(), await person(), await person()];
    const id = await project(ann, 'Settings');
    await t.http().post(`/projects/${id}/members`).set(ann.key).send({ email: bob.email }).expect(201);
    const connection = async (owner: Person) =>
      (
        (
          await t
            .http()
            .post('/connections')
            .set(owner.key)
            .send({ provider: 'github', name: `gh-${owner.id}`, config: {}, credentials: { type: 'none' } })
            .expect(201)
        ).body as { id: string }
      ).id;
    const [bobs, eves] = [await connection(bob), await connection(eve)];
    const put = (provider: string, settings: object, who = ann) =>
      t.http().put(`/projects/${id}/providers/${provider}`).set(who.key).send(settings);
    const settings = {
      connectionId: bobs,
      repositories: ['acme/shop'],
      branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'develop' }],
    };

    const refused = await put('github', { connectionId: bobs, repositories: ['not a repo'], extra: 1 });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toBe('INVALID_PROVIDER_SETTINGS');
    expect((refused.body.details as { path: string }[]).map((p) => p.path).sort()).toEqual([
      '/settings',
      '/settings/repositories/0',
    ]);
    const badPattern = await put('github', { ...settings, branches: [{ pattern: '(unclosed' }] }).expect(422);
    expect(badPattern.body.details).toEqual([
      {
        path: '/settings/branches/0/pattern',
        message: expect.stringContaining('Invalid regular expression'),
      },
    ]);
    expect((await put('github', { ...settings, connectionId: eves }).expect(422)).body.details).toEqual([
      { path: '/settings/connectionId', message: expect.stringContaining('no member') },
    ]);
    await put('http', {}).expect(422);
    await put('nope', {}).expect(422);
    expect((await put('github', settings, bob)).body.error).toBe('NOT_A_MANAGER');

    expect((await put('github', settings).expect(200)).body).toMatchObject({ provider: 'github', settings });
    expect(
      (await t.http().get(`/projects/${id}/providers/github`).set(bob.key).expect(200)).body.settings,
    ).toEqual(settings);
    expect(
      (await t.http().get(`/projects/${id}/providers`).set(bob.key).expect(200)).body.items,
    ).toHaveLength(1);
    await t.http().get(`/projects/${id}/providers/github`).set(eve.key).expect(404);
    await t.http().delete(`/projects/${id}/providers/github`).set(ann.key).expect(204);
    await t.http().get(`/projects/${id}/providers/github`).set(ann.key).expect(404);
    const schema = (await t.http().get('/providers/github').set(ann.key).expect(200)).body
      .projectSettingsSchema;
    expect(schema).toMatchObject({ required: ['connectionId', 'repositories'] });
  });

  it('keeps the records providers write: branches linked by pattern, builds, provider data, ?fields=', async () => {
    const [ann, eve] = [await person(), await person()];
    const id = await project(ann, 'Records');
    const github = (
      (
        await t
          .http()
          .post('/connections')
          .set(ann.key)
          .send({ provider: 'github', name: 'gh', config: {}, credentials: { type: 'none' } })
          .expect(201)
      ).body as { id: string }
    ).id;
    await t
      .http()
      .put(`/projects/${id}/providers/github`)
      .set(ann.key)
      .send({
        connectionId: github,
        repositories: ['acme/shop'],
        branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'develop' }],
      })
      .expect(200);
    // What providers do: core's upserts.
    const records = t.app.get(ProjectRecordsService);
    const feature = await records.upsertFeature(id, {
      provider: 'targetprocess',
      externalId: 'SHOP-12',
      type: 'story',
      title: 'One-click checkout',
      state: 'Open',
    });
    const repository = await records.upsertRepository(id, {
      provider: 'github',
      owner: 'acme',
      name: 'shop',
    });
    const branch = await records.upsertBranch(id, repository.id, { name: 'feature/SHOP-12', headSha: 'a1' });
    await records.upsertBranch(id, repository.id, { name: 'develop', headSha: 'd1' });
    await records.upsertBuild(id, {
      provider: 'jenkins',
      job: 'shop',
      number: 7,
      branchId: branch.id,
      status: 'failure',
    });
    await records.upsertBuild(id, {
      provider: 'jenkins',
      job: 'shop',
      number: 8,
      branchId: branch.id,
      status: 'success',
    });
    await records.upsertFeature(id, {
      ...{ provider: 'targetprocess', externalId: 'SHOP-12' },
      type: 'story',
      title: 'One-click checkout',
      state: 'Done',
    });

    expect(branch).toMatchObject({ parent: 'develop', featureId: feature.id, mergedIntoParent: false });
    const events = async (name: string) =>
      (
        (await t.http().get('/events').query({ name }).set(admin).expect(200)).body as {
          items: { data: { project: string } }[];
        }
      ).items.filter((event) => event.data.project === id);
    expect((await events('project.branch.updated')).map((e) => e.data)).toEqual([
      expect.objectContaining({
        branch: 'feature/SHOP-12',
        headSha: 'a1',
        feature: { id: feature.id, externalId: 'SHOP-12' },
      }),
    ]);
    expect((await events('project.feature.updated')).map((e) => e.data)).toEqual([
      expect.objectContaining({ state: 'Done', was: 'Open' }),
    ]);

    const token = bearer(
      (
        (await t.http().post(`/projects/${id}/tokens`).set(ann.key).send({ label: 'sonar' }).expect(201))
          .body as { key: string }
      ).key,
    );
    await t
      .http()
      .put(`/projects/${id}/branches/${branch.id}/provider-data/sonar/quality-gate`)
      .set(token)
      .send({ display: 'traffic_light', value: 'green' })
      .expect(200);

    await t
      .http()
      .put(`/projects/${id}/branches/${branch.id}/provider-data/sonar/quality-gate`)
      .set(token)
      .send({ display: 'traffic_light', value: 'purple' })
      .expect(400);
    const listed = await t
      .http()
      .get(`/projects/${id}/branches`)
      .query({ repositoryId: repository.id, fields: 'id,name,headSha' })
      .set(token)
      .expect(200);
    expect(listed.body.items).toEqual([
      { id: branch.id, name: 'feature/SHOP-12', headSha: 'a1' },
      { id: expect.any(String), name: 'develop', headSha: 'd1' },
    ]);
    const unknown = await t.http().get(`/projects/${id}/branches`).query({ fields: 'id,color' }).set(ann.key);
    expect([unknown.status, unknown.body.error]).toEqual([400, 'INVALID_FIELDS']);
    expect(
      (await t.http().get(`/projects/${id}/builds`).query({ status: 'success' }).set(ann.key).expect(200))
        .body.items,
    ).toEqual([expect.objectContaining({ number: 8, status: 'success', branchId: branch.id })]);

    const view = (await t.http().get(`/projects/${id}/features/${feature.id}`).set(ann.key).expect(200)).body;
    expect(view).toMatchObject({ externalId: 'SHOP-12', state: 'Done' });
    expect(view.repositories).toEqual([
      expect.objectContaining({
        owner: 'acme',
        name: 'shop',
        branches: [
          expect.objectContaining({
            name: 'feature/SHOP-12',
            latestBuild: expect.objectContaining({ number: 8, status: 'success' }),
            providerData: [
              expect.objectContaining({
                provider: 'sonar',
                key: 'quality-gate',
                display: 'traffic_light',
                value: 'green',
              }),
            ],
          }),
        ],
      }),
    ]);
    expect(
      (
        await t
          .http()
          .get(`/projects/${id}/features/${feature.id}`)
          .query({ fields: 'title,state' })
          .set(ann.key)
          .expect(200)
      ).body,
    ).toEqual({
      title: 'One-click checkout',
      state: 'Done',
    });
    await t.http().get(`/projects/${id}/features/${feature.id}`).set(eve.key).expect(404);
    await t.http().get(`/projects/${id}/widgets/${feature.id}`).set(ann.key).expect(404);
  });

  it('stops a token whose member left the project, and deletes a project with everything in it', async () => {
    const [ann, bob] = [await person(), await person()];
    const id = await project(ann, 'Leaving');
    await t
      .http()
      .post(`/projects/${id}/members`)
      .set(ann.key)
      .send({ email: bob.email, manager: true })
      .expect(201);
    const { key } = (
      await t.http().post(`/projects/${id}/tokens`).set(bob.key).send({ label: 'bob' }).expect(201)
    ).body as { key: string };
    await t.http().get(`/projects/${id}`).set(bearer(key)).expect(200);

    await t.http().delete(`/projects/${id}/members/${bob.id}`).set(ann.key).expect(204);
    expect((await t.http().get(`/projects/${id}`).set(bearer(key))).status).toBe(401);

    await t.http().delete(`/projects/${id}`).set(ann.key).expect(204);
    await t.http().get(`/projects/${id}`).set(admin).expect(404);
  });
});
