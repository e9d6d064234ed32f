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
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options, Result } from 'autocannon';
import {
  ADMIN_KEY,
  autocannonRun,
  medianRound,
  NOOP_JOB_TYPE,
  serveApp,
  startAppProcess,
} from './support/app-process.js';

const CONNECTIONS = 20;
const WARMUP_S = 3;
const ROUNDS = 3;
const ROUND_S = 5;

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
  const result = await autocannonRun(options);
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${kind}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  return result;
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
  const app = await startAppProcess(fileURLToPath(import.meta.url), dir, roles);
  try {
    const { base } = app;
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/routes`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'bench', eventPattern: 'bench.*', jobType: NOOP_JOB_TYPE }),
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

    const events = medianRound(eventRounds, ROUND_S);
    const health = medianRound(healthRounds, ROUND_S);
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
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await bench('api,worker,scheduler', 'one process, every role: the worker runs each job meanwhile');
  await bench('api', 'api role only: jobs stored, not run');
}

if (process.argv[2] === 'serve') {
  serveApp(process.argv[3], process.argv[4]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
