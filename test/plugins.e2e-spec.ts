import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { ADMIN_KEY, bearer } from './support/test-app.js';
import { freePort } from './support/free-port.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

/**
 * Plug-ins as an operator installs them: files in a folder outside the repository that import
 * `junction/sdk` by name, loaded by the built application (`dist/`) in a real process. A real
 * process, because under ts-jest the app would be the TypeScript sources while the plug-in loads
 * the compiled SDK, two copies of Nest's classes.
 */
const MAIN = path.resolve('dist/src/main.js');

/** In plain ESM JavaScript, so decorators are called as functions. */
const ECHO_PLUGIN = `
import { Inject, Injectable, JobHandler, Module, PartnerHttpClient, Provider, ProviderError } from 'junction/sdk';

export class EchoProvider {
  constructor(http) {
    this.http = http;
  }

  async check(connection, signal) {
    const { body } = await this.http.request({ method: 'GET', url: connection.config.baseUrl + '/ping', signal });
    if (body?.pong !== true) throw new ProviderError('PERMANENT', 'the partner did not answer pong');
  }

  async greet(ctx) {
    await ctx.log('greeting ' + ctx.payload.data.name);
    return { greeting: 'Hello, ' + ctx.payload.data.name + '!' };
  }
}
Inject(PartnerHttpClient)(EchoProvider, undefined, 0);
Injectable()(EchoProvider);
Provider({
  key: 'echo-partner',
  title: 'Echo partner',
  kinds: ['test'],
  configSchema: { type: 'object', required: ['baseUrl'], properties: { baseUrl: { type: 'string' } } },
  credentialTypes: ['none'],
  capabilities: [],
})(EchoProvider);
JobHandler('echo.greet', { on: 'greeting.sent' })(
  EchoProvider.prototype,
  'greet',
  Object.getOwnPropertyDescriptor(EchoProvider.prototype, 'greet'),
);

export default class EchoPlugin {}
Module({ providers: [EchoProvider] })(EchoPlugin);
`;

/** A handler of a job type Junction already has. */
const TAKEN_TYPE_PLUGIN = `
import { Injectable, JobHandler, Module } from 'junction/sdk';

class Replayer {
  replay() {}
}
Injectable()(Replayer);
JobHandler('events.replay')(Replayer.prototype, 'replay', Object.getOwnPropertyDescriptor(Replayer.prototype, 'replay'));

export class TakenPlugin {}
Module({ providers: [Replayer] })(TakenPlugin);
`;

/** A provider with the built-in provider's key. */
const TAKEN_KEY_PLUGIN = `
import { Injectable, Module, Provider } from 'junction/sdk';

class OtherHttp {}
Injectable()(OtherHttp);
Provider({ key: 'http', title: 'Another', kinds: [], configSchema: {}, credentialTypes: ['none'], capabilities: [] })(OtherHttp);

export default class OtherHttpPlugin {}
Module({ providers: [OtherHttp] })(OtherHttpPlugin);
`;

/**
 * Providers a plug-in in plain JavaScript can declare without what the types would have demanded:
 * no config schema, no credential types.
 */
const NO_SCHEMA_PLUGIN = `
import { Injectable, Module, Provider } from 'junction/sdk';

class NoSchema {}
Injectable()(NoSchema);
Provider({ key: 'no-schema', title: 'No schema', kinds: [], credentialTypes: ['none'], capabilities: [] })(NoSchema);

export default class NoSchemaPlugin {}
Module({ providers: [NoSchema] })(NoSchemaPlugin);
`;
const NO_CREDENTIALS_PLUGIN = `
import { Injectable, Module, Provider } from 'junction/sdk';

class NoCredentials {}
Injectable()(NoCredentials);
Provider({ key: 'no-credentials', title: 'No credentials', kinds: [], configSchema: {} })(NoCredentials);

export default class NoCredentialsPlugin {}
Module({ providers: [NoCredentials] })(NoCredentialsPlugin);
`;

/** A provider that injects a class nothing provides, so Nest cannot create it. */
const UNRESOLVED_PLUGIN = `
import { Inject, Injectable, Module } from 'junction/sdk';

class Missing {}
class NeedsMissing {
  constructor(missing) {
    this.missing = missing;
  }
}
Inject(Missing)(NeedsMissing, undefined, 0);
Injectable()(NeedsMissing);

export default class UnresolvedPlugin {}
Module({ providers: [NeedsMissing] })(UnresolvedPlugin);
`;

/** A provider whose constructor throws, as one missing its settings might. */
const CONSTRUCTOR_THROWS_PLUGIN = `
import { Injectable, Module } from 'junction/sdk';

class Boom {
  constructor() {
    throw new Error('BOOM_TOKEN is not set');
  }
}
Injectable()(Boom);

export default class BoomPlugin {}
Module({ providers: [Boom] })(BoomPlugin);
`;

/** A provider whose onModuleInit fails. */
const INIT_THROWS_PLUGIN = `
import { Injectable, Module } from 'junction/sdk';

class LateBoom {
  async onModuleInit() {
    await Promise.resolve();
    throw new Error('the partner refused the handshake');
  }
}
Injectable()(LateBoom);

export default class LateBoomPlugin {}
Module({ providers: [LateBoom] })(LateBoomPlugin);
`;

/** A class marked @Provider() without its metadata, which plain JavaScript allows. */
const NO_METADATA_PLUGIN = `
import { Injectable, Module, Provider } from 'junction/sdk';

class Bare {}
Injectable()(Bare);
Provider()(Bare);

export default class BarePlugin {}
Module({ providers: [Bare] })(BarePlugin);
`;

interface Running {
  port: number;
  exitCode: () => number | null;
  stderr: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
}

/** `node dist/src/main.js` in `cwd`, as `JUNCTION_PLUGINS=... npm start` runs it. */
async function run(cwd: string, env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), ...env },
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    port,
    stderr: () => stderr,
    exitCode: () => child.exitCode,
    exited,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** How `junction` exited, or `'still running'` (and it is stopped) when it booted instead. */
async function exitCodeWithin(junction: Running, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), ms);
  });
  const outcome = await Promise.race([junction.exited, late]);
  clearTimeout(timer);
  if (outcome === 'still running') await junction.stop();
  return outcome;
}

describe('plug-ins', () => {
  let folder: string;
  let database: TestDatabase;
  let partner: http.Server;
  let partnerUrl: string;
  const partnerCalls: string[] = [];

  beforeAll(async () => {
    // Outside the repository; `junction/sdk` resolves through node_modules/junction, as after
    // `npm link junction` or installing Junction beside the plug-in.
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-plugins-'));
    fs.mkdirSync(path.join(folder, 'node_modules'));
    fs.symlinkSync(path.resolve('.'), path.join(folder, 'node_modules', 'junction'), 'dir');
    fs.writeFileSync(path.join(folder, 'echo-plugin.mjs'), ECHO_PLUGIN);
    fs.writeFileSync(path.join(folder, 'taken-type.mjs'), TAKEN_TYPE_PLUGIN);
    fs.writeFileSync(path.join(folder, 'taken-key.mjs'), TAKEN_KEY_PLUGIN);
    fs.writeFileSync(path.join(folder, 'no-module.mjs'), 'export const answer = 42;\n');
    fs.writeFileSync(path.join(folder, 'no-schema.mjs'), NO_SCHEMA_PLUGIN);
    fs.writeFileSync(path.join(folder, 'no-credentials.mjs'), NO_CREDENTIALS_PLUGIN);
    fs.writeFileSync(path.join(folder, 'unresolved.mjs'), UNRESOLVED_PLUGIN);
    fs.writeFileSync(path.join(folder, 'constructor-throws.mjs'), CONSTRUCTOR_THROWS_PLUGIN);
    fs.writeFileSync(path.join(folder, 'init-throws.mjs'), INIT_THROWS_PLUGIN);
    fs.writeFileSync(path.join(folder, 'no-metadata.mjs'), NO_METADATA_PLUGIN);
    database = await TestDatabase.create();
    // The partner behind the echo provider: answers GET /ping with { pong: true }.
    partner = http.createServer((req, res) => {
      partnerCalls.push(`${req.method} ${req.url}`);
      res.writeHead(req.url === '/ping' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pong: req.url === '/ping' }));
    });
    await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
    partnerUrl = `http://127.0.0.1:${(partner.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => partner.close(resolve));
    await database.drop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('adds a provider and a job handler that run end to end when a plug-in file is listed', async () => {
    const junction = await run(
      folder,
      database.env({ JUNCTION_ADMIN_KEY: ADMIN_KEY, JUNCTION_PLUGINS: './echo-plugin.mjs' }),
    );
    try {
      const api = request(`http://127.0.0.1:${junction.port}`);
      const admin = bearer(ADMIN_KEY);
      const health = await waitFor(
        () =>
          api
            .get('/health')
            .then((response) => response.status)
            .catch(() => 0),
        (status) => status === 200 || junction.exitCode() !== null,
        20_000,
      );
      expect({ health, stderr: junction.stderr() }).toEqual({ health: 200, stderr: '' });

      const providers = (await api.get('/providers').set(admin).expect(200)).body as { key: string }[];
      expect(providers.map((provider) => provider.key)).toEqual([
        'amqp',
        'cloudflare-dns',
        'echo-partner',
        'fastly',
        'git',
        'github',
        'hmac',
        'http',
        'jenkins',
        'local',
        'mock-cdn',
        'mock-dns',
        'standard-webhooks',
        'stripe',
        'targetprocess',
        'webdav',
      ]);

      const connection = (
        await api
          .post('/connections')
          .set(admin)
          .send({
            provider: 'echo-partner',
            name: 'echo',
            config: { baseUrl: partnerUrl },
            credentials: { type: 'none' },
          })
          .expect(201)
      ).body as { id: string };
      await api
        .post('/connections')
        .set(admin)
        .send({ provider: 'echo-partner', name: 'no-url', config: {}, credentials: { type: 'none' } })
        .expect(422);
      const check = await api.post(`/connections/${connection.id}/test`).set(admin).expect(200);
      expect(check.body).toMatchObject({ ok: true });
      expect(partnerCalls).toEqual(['GET /ping']);

      const accepted = await api
        .post('/events')
        .set(admin)
        .send({ name: 'greeting.sent', source: 'plugins-test', data: { name: 'Ada' } })
        .expect(202);
      expect(accepted.body.jobIds).toHaveLength(1);
      const jobs = await waitFor(
        async () =>
          (await api.get('/jobs?type=echo.greet').set(admin).expect(200)).body.items as {
            id: string;
            status: string;
          }[],
        (items) => items.length === 1 && items[0].status === 'succeeded',
        10_000,
      );
      expect(jobs.map((item) => item.id)).toEqual(accepted.body.jobIds);
      const job = (await api.get(`/jobs/${accepted.body.jobIds[0]}`).set(admin).expect(200)).body;
      expect(job).toMatchObject({
        type: 'echo.greet',
        status: 'succeeded',
        result: { greeting: 'Hello, Ada!' },
      });
    } finally {
      expect(await junction.stop()).toBe(0);
    }
  }, 60_000);

  it.each([
    ['./missing.mjs', {}, `plug-in ./missing.mjs: no such file: `],
    ['./no-module.mjs', {}, 'plug-in ./no-module.mjs: exports no Nest module'],
    [
      './taken-type.mjs',
      {},
      'job type "events.replay" has two handlers: EventReplayHandler.replay and Replayer.replay (plug-in ./taken-type.mjs)',
    ],
    [
      './taken-key.mjs',
      {},
      'provider key "http" is declared twice: by HttpProvider and OtherHttp (plug-in ./taken-key.mjs)',
    ],
    [
      './no-schema.mjs',
      {},
      'NoSchema (plug-in ./no-schema.mjs): its configSchema must be a JSON Schema (an object)',
    ],
    [
      './no-credentials.mjs',
      {},
      'NoCredentials (plug-in ./no-credentials.mjs): its credentialTypes must be an array',
    ],
    ['./no-metadata.mjs', {}, 'Bare (plug-in ./no-metadata.mjs): @Provider() was given no metadata'],
    [
      './unresolved.mjs',
      {},
      "plug-in ./unresolved.mjs: Nest can't resolve dependencies of the NeedsMissing (?). Please make sure that the argument Missing at index [0] is available in the UnresolvedPlugin module.",
    ],
    [
      './constructor-throws.mjs',
      {},
      'plug-in ./constructor-throws.mjs: Boom could not be created: BOOM_TOKEN is not set',
    ],
    [
      './init-throws.mjs',
      {},
      'plug-in ./init-throws.mjs: LateBoom.onModuleInit() failed: the partner refused the handshake',
    ],
    // A process without the api role boots without HTTP, and loads plug-ins the same way.
    [
      './unresolved.mjs',
      { JUNCTION_ROLES: 'worker' },
      "plug-in ./unresolved.mjs: Nest can't resolve dependencies of the NeedsMissing (?).",
    ],
    [
      './init-throws.mjs',
      { JUNCTION_ROLES: 'worker' },
      'plug-in ./init-throws.mjs: LateBoom.onModuleInit() failed: the partner refused the handshake',
    ],
    [
      './taken-type.mjs',
      { JUNCTION_ROLES: 'worker' },
      'job type "events.replay" has two handlers: EventReplayHandler.replay and Replayer.replay (plug-in ./taken-type.mjs)',
    ],
  ])(
    'stops the boot naming the file when the plug-in is %s (%j)',
    async (plugin, env, message) => {
      const junction = await run(folder, database.env({ JUNCTION_PLUGINS: plugin, ...env }));

      expect(await exitCodeWithin(junction, 20_000)).toBe(1);
      expect(junction.stderr()).toContain(message);
    },
    30_000,
  );

  it('names the plug-in when a junction command cannot boot it either', async () => {
    const child = spawn(
      process.execPath,
      [path.resolve('dist/src/cli/main.js'), 'keys', 'create', '--email', 'plugins@example.com'],
      {
        cwd: folder,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          ...database.env({ JUNCTION_PLUGINS: './unresolved.mjs' }),
        },
      },
    );
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(code).toBe(1);
    expect(stderr).toContain(
      "plug-in ./unresolved.mjs: Nest can't resolve dependencies of the NeedsMissing (?).",
    );
  }, 30_000);
});
