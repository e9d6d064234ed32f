/**
 * Event intake over HTTP: `POST /events` with one matching route, driven by autocannon against a
 * booted app in embedded mode (SQLite, embedded queue), beside `GET /health` on the same app in
 * the same run as the baseline.
 *
 * Conditions: the app runs in a child process of its own (one Node process; SQLite file in a fresh
 * temporary directory; LOG_LEVEL=warn; default settings otherwise), autocannon in this process,
 * both on this machine. One stored route `bench.*` -> a no-op job type. Each endpoint gets a 3 s
 * warm-up, then three rounds of 5 s each, health and events taking turns, with 20 connections (no
 * pipelining); the line reports the median round and the range. Each event is ~150 bytes of JSON
 * with a fresh idempotency key. Afterwards the ledger is checked: every 202 must be one stored
 * event with its one job, or the run fails. Two runs: the app with every role (as one process on
 * SQLite runs, so its worker runs each routed job meanwhile), then with the api role alone (jobs
 * stored but not run), which shows what intake costs by itself.
 *
 *   npm run bench:ingest
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import autocannon from 'autocannon';
import type { Instance, Options, Result } from 'autocannon';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/load-config.js';
import { JobHandler } from '../src/modules/jobs/jobs.contract.js';

const CONNECTIONS = 20;
const WARMUP_S = 3;
const ROUNDS = 3;
const ROUND_S = 5;
const ADMIN_KEY = 'jk_bench-admin-key-0123456789abcdefghijklmnop';
const SECRET_KEY = '22'.repeat(32);

@Injectable()
class BenchHandlers {
  @JobHandler('bench.noop')
  noop(): Promise<void> {
    return Promise.resolve();
  }
}

@Module({ providers: [BenchHandlers] })
class BenchModule {}

/** The child: boots the app on a free port and tells the parent which. */
async function serve(dir: string, roles: string): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dir, 'junction.sqlite')}`,
    JUNCTION_SECRET_KEY: SECRET_KEY,
    JUNCTION_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    JUNCTION_ROLES: roles,
  });
  const app = await createApp(config, [BenchModule]);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.send!({ port: address.port });
  process.on('message', (message) => {
    if (message === 'stop') void app.close().then(() => process.exit(0));
  });
}

function run(options: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance: Instance = autocannon(options, (error, result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result),
    );
    instance.on('error', reject);
  });
}

let sequence = 0;
const eventBody = () =>
  JSON.stringify({
    name: 'bench.order-created',
    source: 'bench',
    idempotencyKey: `bench-${process.pid}-${++sequence}`,
    data: { orderId: `A-${sequence}`, total: 129.9, accountId: 'acc-7', lines: [{ sku: 'X-1', qty: 2 }] },
  });

async function measure(base: string, kind: 'health' | 'events', seconds: number): Promise<Result> {
  const options: Options =
    kind === 'health'
      ? { url: `${base}/health`, connections: CONNECTIONS, duration: seconds }
      : {
          url: `${base}/events`,
          connections: CONNECTIONS,
          duration: seconds,
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          requests: [{ setupRequest: (request) => ({ ...request, body: eventBody() }) }],
        };
  const result = await run(options);
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${kind}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  return result;
}

/** The round with the median rate, and the range of rates over all rounds. */
function summarize(results: Result[]): { median: Result; perSecond: number[] } {
  const sorted = [...results].sort((a, b) => a['2xx'] - b['2xx']);
  return { median: sorted[Math.floor(sorted.length / 2)], perSecond: sorted.map((r) => r['2xx'] / ROUND_S) };
}

/** The stored events and jobs, as the API counts them. */
async function storedCounts(
  base: string,
  headers: Record<string, string>,
): Promise<{ events: number; jobs: number }> {
  const types = (await (await fetch(`${base}/event-types/bench.order-created`, { headers })).json()) as {
    count: number;
  };
  const queues = (await (await fetch(`${base}/queues`, { headers })).json()) as {
    counts: Record<string, number>;
  }[];
  const jobs = queues.reduce((sum, q) => sum + Object.values(q.counts).reduce((a, b) => a + b, 0), 0);
  return { events: types.count, jobs };
}

/**
 * The counts once they stop moving. Requests still in flight when the last round ends commit
 * after it; counting the events and then the jobs between two such commits saw one job more than
 * events and failed the run.
 */
async function settledCounts(
  base: string,
  headers: Record<string, string>,
): Promise<{ events: number; jobs: number }> {
  let last = await storedCounts(base, headers);
  for (let tries = 0; tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await storedCounts(base, headers);
    if (next.events === last.events && next.jobs === last.jobs) return next;
    last = next;
  }
  return last;
}

async function bench(roles: string, label: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-ingest-'));
  const child = fork(fileURLToPath(import.meta.url), ['serve', dir, roles], {
    execArgv: process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message) => resolve((message as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`the app exited with ${code} before listening`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/routes`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', eventPattern: 'bench.*', jobType: 'bench.noop' }),
    });
    if (created.status !== 201) throw new Error(`creating the route answered ${created.status}`);

    await measure(base, 'health', WARMUP_S);
    await measure(base, 'events', WARMUP_S);
    const healthRounds: Result[] = [];
    const eventRounds: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      healthRounds.push(await measure(base, 'health', ROUND_S));
      eventRounds.push(await measure(base, 'events', ROUND_S));
    }

    // Every 202 (warm-up included) must be one stored event with its one job.
    const accepted = sequence;
    const stored = await settledCounts(base, headers);
    if (stored.events !== stored.jobs || stored.events < eventRounds.reduce((sum, r) => sum + r['2xx'], 0)) {
      throw new Error(`stored ${stored.events} events and ${stored.jobs} jobs for about ${accepted} posted`);
    }

    const events = summarize(eventRounds);
    const health = summarize(healthRounds);
    const perSecond = events.median['2xx'] / ROUND_S;
    const healthPerSecond = health.median['2xx'] / ROUND_S;
    const range = (rates: number[]) => `${Math.round(rates[0])}-${Math.round(rates[rates.length - 1])}`;
    console.log(
      `ingest (${label}): ${Math.round(perSecond)} events/s stored with their jobs, ` +
        `p50 ${events.median.latency.p50} ms p99 ${events.median.latency.p99} ms ` +
        `(GET /health: ${Math.round(healthPerSecond)} req/s, p50 ${health.median.latency.p50} ms ` +
        `p99 ${health.median.latency.p99} ms; ratio ${(perSecond / healthPerSecond).toFixed(2)}) ` +
        `[median of ${ROUNDS} rounds of ${ROUND_S} s, events ${range(events.perSecond)}/s, health ${range(health.perSecond)}/s; ` +
        `SQLite, embedded queue, 1 route, ${CONNECTIONS} connections, ${os.cpus().length} cores; ` +
        `${stored.events} events and ${stored.jobs} jobs stored]`,
    );
  } finally {
    if (child.connected) {
      child.send('stop');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await bench('api,worker,scheduler', 'one process, every role: the worker runs each job meanwhile');
  await bench('api', 'api role only: jobs stored, not run');
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3], process.argv[4]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
