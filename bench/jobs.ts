/**
 * Job engine, end to end: no-op jobs per second from the first enqueue to the last success in the
 * ledger, with each job's enqueue-to-start latency (p50, p99) and the process's peak RSS, for the
 * embedded transport (SQLite) and for Bull (PostgreSQL ledger + Redis). Each sits beside a raw
 * baseline measured in the same run: batched better-sqlite3 inserts of the same rows into a
 * SQLite file of the same schema and pragmas, and raw Bull `addBulk` + `process` of no-op jobs on
 * the same Redis.
 *
 * Conditions: 20,000 jobs of one type, enqueued up front with `JobsService.enqueueMany` in batches
 * of 500 (awaited one after another) while the worker already runs with the default concurrency
 * (20); the raw Bull baseline adds the same way and processes with `queue.process(20, ...)`. The
 * app boots without HTTP (`NestFactory.createApplicationContext(AppModule.forRoot(...))`). The end
 * is the latest `finished_at` once the ledger shows every job succeeded (polled every 100 ms); for
 * raw Bull it is the 20,000th `completed` event. Latency is handler start minus the batch's enqueue
 * time, both on `performance.timeOrigin + performance.now()`; with every job enqueued up front it is
 * mostly time spent waiting in the queue. Every measurement runs in a fresh child process, so peak
 * RSS (the kernel's maxRSS of that process: boot and run) is its own. Bull runs on a schema and key
 * prefixes of their own, removed afterwards; they are skipped, saying why, when PostgreSQL or Redis
 * cannot be reached (BENCH_DATABASE_URL, default postgres://127.0.0.1:5432/test; REDIS_URL, default
 * redis://127.0.0.1:6379).
 *
 *   npm run bench:jobs
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Bull from 'bull';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { openRawSqlite } from './raw-sqlite.js';
import { AppModule } from '../src/app.module.js';
import { newId } from '../src/common/ids.js';
import { loadConfig, withDefaultUser } from '../src/config/load-config.js';
import { readTimestamp } from '../src/database/raw-sql.js';
import { DEFAULT_BACKOFF } from '../src/modules/jobs/backoff.js';
import type { JobContext } from '../src/modules/jobs/job-context.js';
import { DEFAULT_MAX_ATTEMPTS } from '../src/modules/jobs/job-handler.registry.js';
import { JobHandler } from '../src/modules/jobs/job-handler.decorator.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';

const TOTAL = 20_000;
const BATCH = 500;
/** JUNCTION_WORKER_CONCURRENCY's default (src/config/load-config.ts). */
const CONCURRENCY = 20;
const POLL_MS = 100;
/** A run whose success count does not move for this long is reported as stuck. */
const STALL_MS = 60_000;
/** Raw Bull gives up after this long in all. */
const RAW_BULL_LIMIT_MS = 300_000;
const JOB_TYPE = 'bench.noop';
const SECRET_KEY = '11'.repeat(32);
const ADMIN_KEY = 'jk_bench-admin-key-0123456789abcdefghijklmnop';

type Phase = 'raw-sqlite' | 'embedded' | 'raw-bull' | 'bull';

interface Settings {
  dir: string;
  databaseUrl?: string;
  redisUrl?: string;
  redisPrefix?: string;
}

interface Measured {
  perSecond: number;
  p50?: number;
  p99?: number;
  peakRssMb: number;
}

type ChildResult = { ok: true; measured: Measured } | { ok: false; error: string };

/** Milliseconds on one clock for both ends of a latency. */
const clockMs = () => performance.timeOrigin + performance.now();

/** Enqueue-to-start latencies, in the order jobs started. */
class Latencies {
  private readonly values = new Float64Array(TOTAL);
  count = 0;

  add(ms: number): void {
    if (this.count < TOTAL) this.values[this.count] = ms;
    this.count++;
  }

  /** Nearest-rank percentiles of what was recorded. */
  percentiles(): { p50: number; p99: number } {
    const sorted = this.values.slice(0, Math.min(this.count, TOTAL)).sort();
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
    return { p50: at(0.5), p99: at(0.99) };
  }
}

@Injectable()
class BenchHandlers {
  readonly latencies = new Latencies();

  @JobHandler(JOB_TYPE)
  noop(ctx: JobContext<{ t: number }>): void {
    this.latencies.add(clockMs() - ctx.payload.t);
  }
}

@Module({ providers: [BenchHandlers] })
class BenchModule {}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Measurements, each run in a child process.

/** The embedded or Bull transport through the whole engine: enqueue, claim, run, record. */
async function throughJunction(env: Record<string, string>): Promise<Measured> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(loadConfig(env), [BenchModule]), {
    logger: ['error', 'warn'],
  });
  try {
    const handlers = app.get(BenchHandlers);
    const jobs = app.get(JobsService);
    const dataSource = app.get(DataSource);
    const started = Date.now();
    for (let sent = 0; sent < TOTAL; sent += BATCH) {
      const t = clockMs();
      await jobs.enqueueMany(Array.from({ length: BATCH }, () => ({ type: JOB_TYPE, payload: { t } })));
    }
    let succeeded = 0;
    let movedAt = Date.now();
    while (succeeded < TOTAL) {
      await sleep(POLL_MS);
      const [row] = await dataSource.query<{ n: number | string }[]>(
        `SELECT count(*) AS n FROM job WHERE status = 'succeeded'`,
      );
      const now = Number(row.n);
      if (now !== succeeded) movedAt = Date.now();
      succeeded = now;
      if (Date.now() - movedAt > STALL_MS) {
        const counts = await dataSource.query<{ status: string; n: number | string }[]>(
          `SELECT status, count(*) AS n FROM job GROUP BY status ORDER BY status`,
        );
        throw new Error(
          `stuck: no job succeeded for ${STALL_MS / 1000} s; ledger ` +
            counts.map((c) => `${c.status} ${Number(c.n)}`).join(', ') +
            `; handler started ${handlers.latencies.count} times`,
        );
      }
    }
    const [last] = await dataSource.query<{ at: unknown }[]>(
      `SELECT max(finished_at) AS at FROM job WHERE status = 'succeeded'`,
    );
    const finished = readTimestamp(last.at)!.getTime();
    if (handlers.latencies.count !== TOTAL)
      throw new Error(`the handler started ${handlers.latencies.count} times for ${TOTAL} jobs`);
    return {
      perSecond: TOTAL / ((finished - started) / 1000),
      ...handlers.latencies.percentiles(),
      peakRssMb: peakRssMb(),
    };
  } finally {
    await app.close();
  }
}

/** The same rows, inserted by better-sqlite3 directly in transactions of BATCH, on the same schema and pragmas. */
async function rawSqliteInserts(dir: string): Promise<Measured> {
  const file = path.join(dir, 'raw.sqlite');
  const db = await openRawSqlite(file);
  const insert = db.prepare(
    `INSERT INTO "job" ("id","type","queue","payload","status","priority","run_at","attempt","max_attempts",
       "backoff","timeout_ms","idempotency_key","concurrency_key","concurrency_limit","created_at")
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  );
  const backoff = JSON.stringify(DEFAULT_BACKOFF);
  const insertBatch = db.transaction((t: number) => {
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    for (let i = 0; i < BATCH; i++) {
      insert.run(
        newId(),
        JOB_TYPE,
        'default',
        JSON.stringify({ t }),
        'queued',
        0,
        now,
        0,
        DEFAULT_MAX_ATTEMPTS,
        backoff,
        null,
        null,
        null,
        1,
        now,
      );
    }
  });
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < TOTAL; sent += BATCH) insertBatch(clockMs());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return { perSecond: TOTAL / seconds, peakRssMb: peakRssMb() };
}

/** Bull alone: addBulk in batches of BATCH while `process(CONCURRENCY)` runs a no-op handler. */
async function rawBull(redisUrl: string, prefix: string): Promise<Measured> {
  const queue = new Bull<{ t: number }>('bench-raw', redisUrl, { prefix });
  try {
    await queue.isReady();
    const latencies = new Latencies();
    let completed = 0;
    const finished = new Promise<number>((resolve) =>
      queue.on('completed', () => {
        if (++completed === TOTAL) resolve(Date.now());
      }),
    );
    queue
      .process(CONCURRENCY, (job: Bull.Job<{ t: number }>) => {
        latencies.add(clockMs() - job.data.t);
        return Promise.resolve();
      })
      .catch(() => undefined);
    const started = Date.now();
    for (let sent = 0; sent < TOTAL; sent += BATCH) {
      const t = clockMs();
      await queue.addBulk(
        Array.from({ length: BATCH }, () => ({ data: { t }, opts: { removeOnComplete: true } })),
      );
    }
    const stalled = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`stuck: ${completed} of ${TOTAL} completed after ${RAW_BULL_LIMIT_MS / 1000} s`)),
        RAW_BULL_LIMIT_MS,
      );
      timer.unref();
    });
    const end = await Promise.race([finished, stalled]);
    return {
      perSecond: TOTAL / ((end - started) / 1000),
      ...latencies.percentiles(),
      peakRssMb: peakRssMb(),
    };
  } finally {
    await queue.close();
  }
}

async function runChild(phase: Phase, settings: Settings): Promise<void> {
  let result: ChildResult;
  try {
    const common = { LOG_LEVEL: 'silent', JUNCTION_SECRET_KEY: SECRET_KEY, JUNCTION_ADMIN_KEY: ADMIN_KEY };
    let measured: Measured;
    switch (phase) {
      case 'raw-sqlite':
        measured = await rawSqliteInserts(settings.dir);
        break;
      case 'embedded':
        measured = await throughJunction({
          ...common,
          DATABASE_URL: `sqlite:${path.join(settings.dir, 'jobs.sqlite')}`,
        });
        break;
      case 'raw-bull':
        measured = await rawBull(settings.redisUrl!, settings.redisPrefix!);
        break;
      case 'bull':
        measured = await throughJunction({
          ...common,
          DATABASE_URL: settings.databaseUrl!,
          REDIS_URL: settings.redisUrl!,
          JUNCTION_REDIS_PREFIX: settings.redisPrefix!,
        });
        break;
    }
    result = { ok: true, measured };
  } catch (error) {
    result = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  if (process.send) {
    process.send(result, () => process.exit(result.ok ? 0 : 1));
  } else {
    // Run by hand (`node dist/bench/jobs.js embedded '{"dir":"/tmp/x"}'`, e.g. under --cpu-prof).
    console.log(JSON.stringify(result));
    process.exit(result.ok ? 0 : 1);
  }
}

// ---------------------------------------------------------------------------------------------
// The parent: runs each measurement in a child, prints, cleans up.

function inChild(phase: Phase, settings: Settings): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [phase, JSON.stringify(settings)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: ChildResult | undefined;
    child.on('message', (message) => (result = message as ChildResult));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result?.ok) resolve(result.measured);
      else if (result) reject(new Error(result.error));
      else reject(new Error(`the ${phase} child exited with ${signal ?? `code ${code}`} and no result`));
    });
  });
}

async function withPg<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(serverUrl);
  url.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: withDefaultUser(url).toString(),
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function withRedis<T>(redisUrl: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/** Why Bull cannot be measured here, or undefined when PostgreSQL and Redis both answer. */
async function bullUnavailable(serverUrl: string, redisUrl: string): Promise<string | undefined> {
  try {
    await withPg(serverUrl, (client) => client.query('SELECT 1'));
  } catch (error) {
    return `PostgreSQL at ${serverUrl} cannot be reached: ${String(error)}`;
  }
  try {
    await withRedis(redisUrl, (redis) => redis.ping());
  } catch (error) {
    return `Redis at ${redisUrl} cannot be reached: ${String(error)}`;
  }
  return undefined;
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  await withRedis(redisUrl, async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  });
}

const ms = (value: number | undefined) => `${Math.round(value ?? NaN)} ms`;
const failure = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-'));
  try {
    try {
      const raw = await inChild('raw-sqlite', { dir });
      const embedded = await inChild('embedded', { dir });
      console.log(
        `embedded queue (SQLite): ${Math.round(embedded.perSecond)} jobs/s, ` +
          `enqueue-to-start p50 ${ms(embedded.p50)} p99 ${ms(embedded.p99)}, ` +
          `peak RSS ${Math.round(embedded.peakRssMb)} MB ` +
          `(raw SQLite batched insert: ${Math.round(raw.perSecond)} rows/s, ` +
          `ratio ${(embedded.perSecond / raw.perSecond).toFixed(2)})`,
      );
    } catch (error) {
      console.log(`embedded queue (SQLite): failed: ${failure(error)}`);
    }

    const serverUrl = process.env.BENCH_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
    const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
    const unavailable = await bullUnavailable(serverUrl, redisUrl);
    if (unavailable) {
      console.log(`Bull via Junction (PostgreSQL + Redis): skipped: ${unavailable}`);
    } else {
      const id = randomBytes(6).toString('hex');
      const schema = `junction_bench_${id}`;
      const databaseUrl = new URL(serverUrl);
      databaseUrl.searchParams.set('schema', schema);
      const junctionPrefix = `junction-bench-${id}`;
      const rawPrefix = `junction-bench-raw-${id}`;
      try {
        const raw = await inChild('raw-bull', { dir, redisUrl, redisPrefix: rawPrefix });
        const bull = await inChild('bull', {
          dir,
          databaseUrl: databaseUrl.toString(),
          redisUrl,
          redisPrefix: junctionPrefix,
        });
        console.log(
          `Bull via Junction (PostgreSQL + Redis): ${Math.round(bull.perSecond)} jobs/s, ` +
            `enqueue-to-start p50 ${ms(bull.p50)} p99 ${ms(bull.p99)}, ` +
            `peak RSS ${Math.round(bull.peakRssMb)} MB ` +
            `(raw Bull add+process: ${Math.round(raw.perSecond)} jobs/s, p50 ${ms(raw.p50)}, ` +
            `p99 ${ms(raw.p99)}, ratio ${(bull.perSecond / raw.perSecond).toFixed(2)})`,
        );
      } catch (error) {
        console.log(`Bull via Junction (PostgreSQL + Redis): failed: ${failure(error)}`);
      } finally {
        await withPg(serverUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
        await deleteKeys(redisUrl, junctionPrefix);
        await deleteKeys(redisUrl, rawPrefix);
      }
    }
    console.log(
      `conditions: node ${process.version}, ${os.cpus().length} cores, ${TOTAL} no-op jobs enqueued ` +
        `in batches of ${BATCH}, default concurrency ${CONCURRENCY}, each measurement in a fresh process`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const [phase, settings] = process.argv.slice(2);
if (phase) await runChild(phase as Phase, JSON.parse(settings) as Settings);
else {
  await main();
  process.exit(0);
}
