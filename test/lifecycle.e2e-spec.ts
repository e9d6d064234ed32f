import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { TestDatabase } from './support/test-database.js';
import { freePort } from './support/free-port.js';

/**
 * The built application (`dist/`, made by `npm test`'s build step) as an operator runs it:
 * a real process, real signals, stdout as printed.
 */
const MAIN = path.resolve('dist/src/main.js');

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function run(env: Record<string, string>, waitForListening = true): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running = { child, port, stdout: () => stdout, stderr: () => stderr, exited };
  if (waitForListening) {
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('listening on port')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`Junction did not start:\n${stdout}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return running;
}

function get(port: number, urlPath: string, key?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, headers: key ? { Authorization: `Bearer ${key}` } : {} },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

const printedKeys = (stdout: string) => stdout.match(/jk_[\w-]{43}/g) ?? [];

describe('the Junction process', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await TestDatabase.create();
  });
  afterAll(() => database.drop());

  it('prints the admin key once, finishes in-flight requests on SIGTERM, exits 0, and keeps its data', async () => {
    const env = database.env({ LOG_LEVEL: 'info' });
    const first = await run(env);
    const keys = printedKeys(first.stdout());
    expect(keys).toHaveLength(1);
    const [adminKey] = keys;
    expect((await get(first.port, '/accounts/me', adminKey)).status).toBe(200);
    expect((await get(first.port, '/accounts/me')).status).toBe(401);

    // A request whose body is still arriving when SIGTERM comes must get its answer.
    const body = JSON.stringify({ name: 'Late', email: 'late@example.com', role: 'viewer' });
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: first.port,
          method: 'POST',
          path: '/accounts',
          headers: {
            Authorization: `Bearer ${adminKey}`,
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        first.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const answered = await inFlight;
    expect(answered.status).toBe(201);
    expect(JSON.parse(answered.body)).toMatchObject({ email: 'late@example.com' });
    expect(await first.exited).toBe(0);

    const second = await run(env);
    expect(printedKeys(second.stdout())).toEqual([]);
    const accounts = await get(second.port, '/accounts', adminKey);
    expect(accounts.status).toBe(200);
    expect(JSON.parse(accounts.body).items.map((a: { email: string }) => a.email)).toEqual(
      expect.arrayContaining(['admin@junction.local', 'late@example.com']),
    );
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);

    // Off a terminal, logs are JSON lines: one a request, with its method, path, status, time and
    // id, and no headers (where keys travel).
    expect(second.stdout()).not.toContain(adminKey);
    const requestLogs = second
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: Record<string, unknown>; res?: Record<string, unknown> })
      .filter((entry) => entry.req?.url === '/accounts');
    expect(requestLogs).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        pid: expect.any(Number),
        hostname: expect.any(String),
        req: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), method: 'GET', url: '/accounts' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        msg: expect.stringMatching(/^GET \/accounts 200 \d+ ms$/),
      },
    ]);
  }, 60_000);

  it('writes coloured lines a person can read with LOG_FORMAT=pretty', async () => {
    const pretty = await run(database.env({ LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' }));
    expect((await get(pretty.port, '/health')).status).toBe(200);
    pretty.child.kill('SIGINT');
    expect(await pretty.exited).toBe(0);
    const lines = pretty
      .stdout()
      .split('\n')
      .filter((line) => line.includes('GET /health 200'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('\u001b[');
    expect(
      pretty
        .stdout()
        .split('\n')
        .some((line) => line.startsWith('{')),
    ).toBe(false);
  }, 60_000);

  it('refuses to start on a bad setting, naming the variable', async () => {
    const bad = await run({ ...database.env(), PORT: 'eighty', LOG_LEVEL: 'loud' }, false);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toContain('PORT: expected an integer port between 1 and 65535, got "eighty"');
    expect(bad.stderr()).toContain(
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent',
    );
  });
});
