import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './support/free-port.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);

/**
 * The environment without what `npm test` adds (npm_config_*, npm_lifecycle_*...): an install
 * run from inside `npm test` must behave as one typed in a shell.
 */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_|^INIT_CWD$/i.test(name)),
  );
  return { ...env, ...extra };
}

/**
 * better-sqlite3's install script (prebuild-install) unpacks a prebuilt addon where one is found,
 * and compiles SQLite from source (about two minutes here) where none is: the GitHub release it
 * downloads from is out of reach on this network. This hands it, as a local prebuild under the
 * name it looks for, the addon `npm ci` compiled for this checkout: the same version, Node and
 * machine. Returns the folder to give it.
 */
function prebuildOfBetterSqlite(dir: string): string {
  const root = path.resolve('node_modules/better-sqlite3');
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  const folder = path.join(dir, 'prebuilds');
  fs.mkdirSync(folder);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', path.join(folder, name), '-C', root, 'build/Release/better_sqlite3.node']);
  return folder;
}

// The tarball is the same whatever database the suite runs on, and installing it takes half a
// minute: it is proven in the SQLite pass, the one `npm test` runs by default.
const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') ?? false;
const describeOnce = onPostgres ? describe.skip : describe;

describeOnce('the packed tarball, installed with npm install -g', () => {
  let dir: string;
  let bin: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-package-'));
    // `npm test` has built dist/ (src and ui), which is what package.json's `files` packs.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { env: shellEnv() });
    const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
    await run(
      'npm',
      ['install', '-g', '--prefix', path.join(dir, 'global'), path.join(dir, filename)],
      // The registry is only needed for what the npm cache lacks; audit and funding notices are noise.
      {
        env: shellEnv({
          npm_config_prefer_offline: 'true',
          npm_config_audit: 'false',
          npm_config_fund: 'false',
          npm_config_better_sqlite3_local_prebuilds: prebuildOfBetterSqlite(dir),
        }),
      },
    );
    bin = path.join(dir, 'global', 'bin', 'junction');
  }, 600_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = () =>
    shellEnv({
      DATABASE_URL: `sqlite:${path.join(dir, 'junction.sqlite')}`,
      JUNCTION_SECRET_KEY: '5a'.repeat(32),
      JUNCTION_ADMIN_KEY: 'jk_package-test-admin-key-0123456789abcdef',
    });

  it('gives a junction command with its help', async () => {
    const { stdout } = await run(bin, ['--help'], { env: env() });
    for (const command of ['start', 'migrate', 'keys', 'jobs', 'events', 'reseal', 'doctor'])
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('migrates a new database and creates a key, printed once', async () => {
    const migrated = await run(bin, ['migrate'], { env: env() });
    expect(migrated.stderr).toMatch(/applied \d+ migrations/);
    const created = await run(bin, ['keys', 'create', '--email', 'ops@example.com', '--role', 'operator'], {
      env: env(),
    });
    expect(created.stdout).toMatch(/jk_[\w-]{20,}/);
  });

  it('starts the server, with Swagger UI and the dashboard it packed', async () => {
    const port = await freePort();
    const child = spawn(bin, ['start'], { env: { ...env(), PORT: String(port) }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        () =>
          fetch(`${base}/health`).then(
            (r) => r.status,
            () => 0,
          ),
        (status) => status === 200,
        60_000,
      );
      expect((await fetch(`${base}/docs`)).status).toBe(200);
      const ui = await fetch(`${base}/ui/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('<div id="root">');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
