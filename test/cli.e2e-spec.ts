import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from './support/free-port.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

/** The built command line (`dist/`, made by `npm test`'s build step), as `npm install -g` links it. */
const CLI = path.resolve('dist/src/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `junction ...args` with `env` (and PATH, HOME) and resolves when it has exited. */
function junction(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const KEY_A = 'aa'.repeat(32);
const KEY_B = 'bb'.repeat(32);
const admin = bearer(ADMIN_KEY);

jest.setTimeout(120_000);

describe('the junction command line', () => {
  it.each([
    [[]],
    [['start']],
    [['migrate']],
    [['keys', 'create']],
    [['jobs', 'retry']],
    [['events', 'replay']],
    [['reseal']],
    [['doctor']],
  ])('prints help for %j --help and exits 0, without a database', async (args) => {
    const run = await junction([...args, '--help'], { DATABASE_URL: 'sqlite:/nonexistent/dir/j.sqlite' });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`Usage: junction ${args.join(' ')}`.trim());
  });

  it('fails in one line on a bad configuration', async () => {
    const run = await junction(['migrate'], { JUNCTION_ROLES: 'chef', PORT: 'x' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^junction: invalid configuration: PORT: .*; JUNCTION_ROLES: .*\n$/);
  });

  it('fails on an unknown command, an unknown option and a missing required option', async () => {
    const unknown = await junction(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const option = await junction(['migrate', '--bogus']);
    expect(option.code).toBe(1);
    expect(option.stderr).toContain("unknown option '--bogus'");
    const missing = await junction(['keys', 'create', '--role', 'admin']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--email');
    const group = await junction(['jobs']);
    expect(group.code).toBe(1);
    expect(group.stderr).toContain('retry');
  });

  describe('on a database of its own', () => {
    let database: TestDatabase;
    let env: Record<string, string>;

    beforeAll(async () => {
      database = await TestDatabase.create();
      env = database.env();
    });
    afterAll(() => database.drop());

    it('migrate --show lists pending migrations and exits 1, migrate applies them, --revert undoes the last', async () => {
      const before = await junction(['migrate', '--show'], env);
      expect(before.code).toBe(1);
      expect(before.stdout).toMatch(/^pending {2}Accounts\d+$/m);
      expect(before.stdout).not.toContain('applied');

      const migrate = await junction(['migrate'], env);
      expect(migrate.code).toBe(0);
      const applied = migrate.stdout.trim().split('\n');
      expect(applied.length).toBe(before.stdout.trim().split('\n').length);

      const after = await junction(['migrate', '--show'], env);
      expect(after.code).toBe(0);
      expect(after.stdout).not.toContain('pending');

      const revert = await junction(['migrate', '--revert'], env);
      expect(revert.code).toBe(0);
      const last = applied.at(-1)!.replace(/^applied\s+/, '');
      expect(revert.stdout.trim()).toBe(`reverted ${last}`);
      const reverted = await junction(['migrate', '--show'], env);
      expect(reverted.code).toBe(1);
      expect(
        reverted.stdout
          .trim()
          .split('\n')
          .filter((line) => line.startsWith('pending')),
      ).toEqual([`pending  ${last}`]);
      expect((await junction(['migrate'], env)).code).toBe(0);
    });

    it('keys create prints only a working key on stdout, creating the account', async () => {
      const run = await junction(['keys', 'create', '--email', 'Ops@CLI.test', '--role', 'operator'], env);
      expect(run.code).toBe(0);
      // The first start's admin key is printed too (the database was empty), but on stderr.
      expect(run.stdout).toMatch(/^jk_[\w-]{43}\n$/);
      expect(run.stderr).toContain('created the account ops@cli.test (operator');
      const key = run.stdout.trim();

      const again = await junction(['keys', 'create', '--email', 'ops@cli.test', '--role', 'admin'], env);
      expect(again.code).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^junction: the account ops@cli\.test has the role operator, not admin/),
      ]);
      const noRole = await junction(['keys', 'create', '--email', 'nobody@cli.test'], env);
      expect(noRole.code).toBe(1);
      expect(noRole.stderr).toContain('give --role');

      const t = await startTestApp({ database });
      try {
        const me = await t.http().get('/accounts/me').set(bearer(key)).expect(200);
        expect(me.body).toMatchObject({ email: 'ops@cli.test', role: 'operator' });
      } finally {
        await t.close();
      }
    });

    it('doctor checks every item and exits 0 when all is well', async () => {
      const run = await junction(['doctor'], env);
      expect(run.stdout).not.toContain('✗');
      expect(run.code).toBe(0);
      for (const item of ['configuration', 'database', 'secret key', 'Redis', 'RabbitMQ', 'connections'])
        expect(run.stdout).toMatch(new RegExp(`^✓ ${item}: `, 'm'));
    });

    it('doctor names Redis when it does not answer, says how to fix it, and exits 1', async () => {
      const port = await freePort();
      const run = await junction(['doctor'], { ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(
          `^✗ Redis: Redis at redis://127\\.0\\.0\\.1:${port} does not answer \\(.*ECONNREFUSED.*\\): start it, or unset REDIS_URL to use the embedded queue$`,
          'm',
        ),
      );
      expect(run.stdout).toMatch(/^✓ database: /m);
    });

    it('doctor reports a bad configuration instead of crashing', async () => {
      const run = await junction(['doctor'], { ...env, JUNCTION_ROLES: 'api,chef' });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^✗ configuration: JUNCTION_ROLES: .*"api,chef": fix that variable$/m);
      expect(run.stderr).toBe('');
    });

    it('a command that needs Redis fails at once, in one line, when it does not answer', async () => {
      const port = await freePort();
      const run = await junction(['jobs', 'retry', '--status', 'dead'], {
        ...env,
        REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^junction: Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer/),
      ]);
    });
  });

  describe('on data an application made', () => {
    let database: TestDatabase;
    let env: Record<string, string>;

    beforeAll(async () => {
      database = await TestDatabase.create();
      env = database.env();
    });
    afterAll(() => database.drop());

    it('jobs retry queues every dead job of the type again and says how many', async () => {
      let t = await startTestApp({ database, features: [TestJobsModule] });
      let jobId: string;
      try {
        jobId = (
          (await t.http().post('/jobs').set(admin).send({ type: 'test.permanent', payload: {} }).expect(201))
            .body as { id: string }
        ).id;
        await waitFor(
          async () => (await t.http().get(`/jobs/${jobId}`).set(admin)).body as { status: string },
          (job) => job.status === 'dead',
        );
      } finally {
        await t.close();
      }

      const other = await junction(['jobs', 'retry', '--status', 'dead', '--type', 'test.other'], env);
      expect(other).toMatchObject({ code: 0, stdout: 'retried 0 dead jobs of type test.other\n' });
      const run = await junction(['jobs', 'retry', '--status', 'dead', '--type', 'test.permanent'], env);
      expect(run).toMatchObject({ code: 0, stdout: 'retried 1 dead job of type test.permanent\n' });
      const again = await junction(['jobs', 'retry', '--status', 'dead'], env);
      expect(again).toMatchObject({ code: 0, stdout: 'retried 0 dead jobs\n' });

      t = await startTestApp({ database, features: [TestJobsModule] });
      try {
        const job = await waitFor(
          async () =>
            (await t.http().get(`/jobs/${jobId}`).set(admin)).body as { status: string; attempt: number },
          (body) => body.status === 'dead' && body.attempt === 2,
        );
        expect(job.attempt).toBe(2);
      } finally {
        await t.close();
      }
    });

    it("events replay routes the pattern's events of the range again and prints what it replayed", async () => {
      const from = new Date(Date.now() - 1000).toISOString();
      const t = await startTestApp({ database });
      try {
        await t
          .http()
          .post('/routes')
          .set(admin)
          .send({ name: 'orders', eventPattern: 'order.*', jobType: 'junction.retention' })
          .expect(201);
        for (const name of ['order.created', 'order.paid', 'customer.signed-up']) {
          await t.http().post('/events').set(admin).send({ name, source: 'shop', data: {} }).expect(202);
        }
      } finally {
        await t.close();
      }
      const to = new Date(Date.now() + 1000).toISOString();

      const run = await junction(
        ['events', 'replay', '--pattern', 'order.*', '--from', from, '--to', to],
        env,
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(
        `replayed 2 of 3 events received from ${from} to ${to} matching order.*: 2 jobs queued\n`,
      );

      const bad = await junction(
        ['events', 'replay', '--pattern', 'order.*', '--from', '2026-11-24', '--to', to],
        env,
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^junction: --from must be an ISO 8601 time with a zone/);
    });
  });

  it('reseal seals credentials made under the previous key with the current one', async () => {
    const database = await TestDatabase.create();
    try {
      const t = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: KEY_A } });
      try {
        await t
          .http()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'http',
            name: 'sealed with A',
            config: { baseUrl: 'http://127.0.0.1:9' },
            credentials: { type: 'bearer', token: 'partner-token-0123456789' },
          })
          .expect(201);
      } finally {
        await t.close();
      }

      const unset = await junction(['reseal'], database.env({ JUNCTION_SECRET_KEY: KEY_B }));
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain('JUNCTION_SECRET_KEY_PREVIOUS is not set');

      const rotating = database.env({ JUNCTION_SECRET_KEY: KEY_B, JUNCTION_SECRET_KEY_PREVIOUS: KEY_A });
      const run = await junction(['reseal'], rotating);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('connections: 1 sealed again, 0 already on the current key\n');
      expect(run.stdout + run.stderr).not.toContain('partner-token');
      const again = await junction(['reseal'], rotating);
      expect(again.stdout).toContain('connections: 0 sealed again, 1 already on the current key\n');

      // Only the new key now: the connection's credentials open, and its check runs (and fails: nothing listens).
      const doctor = await junction(['doctor'], database.env({ JUNCTION_SECRET_KEY: KEY_B }));
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(
        /^✗ connection "sealed with A" \(http, [\w-]+\): TEMPORARY: .*ECONNREFUSED; make sure the partner is up/m,
      );
      expect(doctor.stdout).not.toContain('partner-token');

      // A previous key it was not sealed with: the connection is named, and the key must stay.
      const wrong = await junction(
        ['reseal'],
        database.env({ JUNCTION_SECRET_KEY: 'cc'.repeat(32), JUNCTION_SECRET_KEY_PREVIOUS: KEY_A }),
      );
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(
        /1 connection\(s\) hold credentials that open with neither key.*sealed with A/,
      );
      expect(wrong.stderr).not.toContain('can be unset');
    } finally {
      await database.drop();
    }
  });
});
