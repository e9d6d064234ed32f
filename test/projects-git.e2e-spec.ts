import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const run = promisify(execFile);
const ALL_PROTOCOLS = 'https:ssh:git:file';

interface JobBody {
  id: string;
  status: string;
  lastError: { code: string; message: string } | null;
  logs: { message: string }[];
}

interface BranchBody {
  name: string;
  headSha: string | null;
  parent: string | null;
  repositoryId: string;
}

/** Runs git as a developer would, with an identity of its own and no prompts. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    'git',
    ['-c', 'user.name=Dev', '-c', 'user.email=dev@git.test', '-c', 'init.defaultBranch=main', ...args],
    { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
  );
  return stdout.trim();
}

describe(`projects on the git provider (${mode})`, () => {
  let t: TestApp;
  let root: string;
  let serial = 0;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'junction-git-'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  /** A bare repository at `<root>/<owner>/<name>.git` and a clone to push from; returns both. */
  const repository = async (owner: string, name: string): Promise<{ url: string; work: string }> => {
    const bare = path.join(root, owner, `${name}.git`);
    await fs.mkdir(bare, { recursive: true });
    await git(bare, 'init', '--bare', '-b', 'main');
    const work = path.join(root, `work-${++serial}`);
    await git(root, 'clone', '--quiet', bare, work);
    return { url: `file://${bare}`, work };
  };
  /** A commit on `branch` (made if new), pushed; returns its sha. */
  const push = async (work: string, branch: string, message: string): Promise<string> => {
    await git(work, 'checkout', '--quiet', '-B', branch);
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', message);
    await git(work, 'push', '--quiet', 'origin', branch);
    return git(work, 'rev-parse', 'HEAD');
  };

  const project = async (): Promise<string> =>
    (
      (
        await t
          .http()
          .post('/projects')
          .set(admin)
          .send({ name: `git ${++serial}` })
          .expect(201)
      ).body as { id: string }
    ).id;
  const putSettings = (id: string, settings: object) =>
    t.http().put(`/projects/${id}/providers/git`).set(admin).send(settings);
  /** Asks for a sync and waits for its job to end. */
  const sync = async (id: string): Promise<JobBody> => {
    const accepted = await t.http().post(`/projects/${id}/repositories/sync`).set(admin).expect(202);
    const { jobs } = accepted.body as { jobs: { provider: string; jobId: string }[] };
    expect(jobs).toEqual([{ provider: 'git', jobId: expect.any(String) }]);
    return waitFor(
      async () => (await t.http().get(`/jobs/${jobs[0].jobId}`).set(admin).expect(200)).body as JobBody,
      (job) => ['succeeded', 'dead'].includes(job.status),
      30_000,
    );
  };
  const branches = async (
    id: string,
  ): Promise<Record<string, { headSha: string | null; parent: string | null }>> => {
    const page = await t.http().get(`/projects/${id}/branches?limit=200`).set(admin).expect(200);
    return Object.fromEntries(
      (page.body.items as BranchBody[]).map((b) => [b.name, { headSha: b.headSha, parent: b.parent }]),
    );
  };

  describe('on a server that allows file', () => {
    beforeAll(async () => {
      t = await startTestApp({ env: { JUNCTION_GIT_PROTOCOLS: ALL_PROTOCOLS } });
    });
    afterAll(() => t.close());

    it('git polling sees a real git push: new heads, moved heads, deleted branches', async () => {
      const shop = await repository('acme', 'shop');
      const main1 = await push(shop.work, 'main', 'first');
      const feature1 = await push(shop.work, 'feature/ABC-1', 'work on ABC-1');
      const id = await project();
      await putSettings(id, {
        repositories: [{ url: shop.url }],
        branches: [{ pattern: '^feature/(?<feature>[A-Z]+-[0-9]+)', parent: 'main' }],
      }).expect(200);

      expect((await sync(id)).status).toBe('succeeded');
      expect(await branches(id)).toEqual({
        main: { headSha: main1, parent: null },
        'feature/ABC-1': { headSha: feature1, parent: 'main' },
      });
      const repositories = (await t.http().get(`/projects/${id}/repositories`).set(admin).expect(200)).body
        .items as { provider: string; owner: string; name: string; url: string }[];
      expect(repositories).toEqual([
        expect.objectContaining({ provider: 'git', owner: 'acme', name: 'shop', url: shop.url }),
      ]);

      const main2 = await push(shop.work, 'main', 'second');
      const feature2 = await push(shop.work, 'feature/ABC-2', 'work on ABC-2');
      expect((await sync(id)).status).toBe('succeeded');
      expect(await branches(id)).toEqual({
        main: { headSha: main2, parent: null },
        'feature/ABC-1': { headSha: feature1, parent: 'main' },
        'feature/ABC-2': { headSha: feature2, parent: 'main' },
      });

      await git(shop.work, 'push', '--quiet', 'origin', '--delete', 'feature/ABC-1');
      const job = await sync(id);
      expect(job.status).toBe('succeeded');
      expect(await branches(id)).toEqual({
        main: { headSha: main2, parent: null },
        'feature/ABC-2': { headSha: feature2, parent: 'main' },
      });
      expect(job.logs.map((line) => line.message)).toContainEqual(
        expect.stringContaining('git acme/shop: 2 branches, 0 new or moved, 1 gone'),
      );
    });

    it('keeps the schedule project:<id>:git:sync while the settings have syncEvery, and drops it with them', async () => {
      const { url } = await repository('acme', 'scheduled');
      const id = await project();
      const schedules = async () =>
        (
          (await t.http().get('/schedules?limit=200').set(admin).expect(200)).body.items as {
            name: string;
            jobType: string;
            payload: unknown;
          }[]
        ).filter((schedule) => schedule.name.startsWith(`project:${id}:`));

      await putSettings(id, { repositories: [{ url }], syncEvery: '15m' }).expect(200);
      expect(await schedules()).toEqual([
        expect.objectContaining({
          name: `project:${id}:git:sync`,
          jobType: 'projects.sync',
          payload: { projectId: id, provider: 'git' },
        }),
      ]);
      await t.http().delete(`/projects/${id}/providers/git`).set(admin).expect(204);
      expect(await schedules()).toEqual([]);
    });

    it('refuses repository URLs git could misread or read as an option, and a repository listed twice', async () => {
      const id = await project();
      for (const url of [
        '-uhttps://x/y',
        'ext::sh -c id',
        'ftp://host/acme/shop.git',
        '/srv/acme/shop.git',
      ]) {
        const refused = await putSettings(id, { repositories: [{ url }] }).expect(422);
        expect([url, refused.body.details]).toEqual([
          url,
          [{ path: '/settings/repositories/0/url', message: expect.any(String) }],
        ]);
      }
      const twice = await putSettings(id, {
        repositories: [{ url: 'https://h/acme/shop.git' }, { url: 'git@h:acme/shop.git' }],
      }).expect(422);
      expect(twice.body.details).toEqual([
        { path: '/settings/repositories/1', message: expect.stringContaining('twice') },
      ]);
    });

    it('syncs the other repositories when one does not exist, then fails the job naming it', async () => {
      const shop = await repository('acme', 'kept');
      const main = await push(shop.work, 'main', 'first');
      const missing = `file://${path.join(root, 'acme', 'missing.git')}`;
      const id = await project();
      await putSettings(id, { repositories: [{ url: missing }, { url: shop.url }] }).expect(200);

      const job = await sync(id);

      expect(job.status).toBe('dead');
      expect(job.lastError).toEqual({
        code: 'PERMANENT',
        message: expect.stringMatching(
          /^1 of 2 repositories could not be read: acme\/missing: .*does not appear to be a git repository/,
        ),
      });
      expect(await branches(id)).toEqual({ main: { headSha: main, parent: null } });
    });
  });

  describe('on a server that does not allow file', () => {
    it('refuses file:// settings, and fails PERMANENT a sync of ones stored while it allowed file', async () => {
      const { url, work } = await repository('acme', 'local-only');
      await push(work, 'main', 'first');
      const database = await TestDatabase.create();
      try {
        t = await startTestApp({ database, env: { JUNCTION_GIT_PROTOCOLS: ALL_PROTOCOLS } });
        const id = await project();
        await putSettings(id, { repositories: [{ url }] }).expect(200);
        await t.close();

        t = await startTestApp({ database });
        const refused = await putSettings(id, { repositories: [{ url }] }).expect(422);
        expect(refused.body.details).toEqual([
          {
            path: '/settings/repositories/0/url',
            message: 'uses file, which this server does not allow (JUNCTION_GIT_PROTOCOLS: https:ssh:git)',
          },
        ]);
        const job = await sync(id);
        expect([job.status, job.lastError?.code]).toEqual(['dead', 'PERMANENT']);
        expect(job.lastError?.message).toContain('does not allow');
        expect(await branches(id)).toEqual({});
      } finally {
        await t.close();
        await database.drop();
      }
    });
  });
});
