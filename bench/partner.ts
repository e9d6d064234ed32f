/**
 * Partner calls through the whole engine: `http.action` jobs per second against a local fake
 * partner (test/fakes/partner.ts, in a process of its own), from the first enqueue to the last
 * success in the ledger, with each job's enqueue-to-response latency (p50, p99: from its batch's
 * enqueue to the partner's receipt of its order). Beside it, in the same run, the baseline: raw
 * undici POSTs of the same orders to the same fake, 20 in flight at once (the worker's default
 * concurrency), with keep-alive, measured before and after the runs through Junction; ratios are
 * to the mean of the two, so a slow spell of the machine during one of them shows as a spread
 * between them instead of moving the ratio alone. Between them, the floor any handler can reach
 * on this engine: the same jobs run by a bare handler that sends the raw POST itself (no
 * connection, credentials, templates, rate budget, log line or metrics), so the report shows how
 * much of the gap to raw is the engine's durable per-job work and how much is http.action's.
 *
 * Conditions: 20,000 jobs on SQLite with the embedded queue, enqueued with
 * `JobsService.enqueueMany` in batches of 500 while the worker runs; one `http` connection with a
 * bearer token and a rate limit far above the rate reached; the app boots without HTTP.
 *
 *   npm run bench:partner
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Agent } from 'undici';
import { DataSource } from 'typeorm';
import { startFakePartner } from '../test/fakes/partner.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/load-config.js';
import { ConnectionsService } from '../src/modules/providers/connections.service.js';
import type { JobContext } from '../src/modules/jobs/job-context.js';
import { JobHandler } from '../src/modules/jobs/job-handler.decorator.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { rawPosts, servePeerOrRun, startPeerProcess, untilSucceeded } from './support/baseline.js';
import type { PeerProcess } from './support/baseline.js';

const TOTAL = 20_000;
/**
 * Jobs run through Junction first and not counted, as a first raw run is not, so both are measured
 * warm.
 */
const WARM_UP = 2_000;
const BATCH = 500;
/** JUNCTION_WORKER_CONCURRENCY's default, and the raw baseline's requests in flight. */
const CONCURRENCY = 20;
const TOKEN = 'bench-partner-token-0123456789';

const BARE_JOB_TYPE = 'bench.bare-post';

/** The floor: the raw POST sent from a job, with nothing of http.action around it. */
@Injectable()
class BareHandler {
  private readonly agent = new Agent();

  @JobHandler(BARE_JOB_TYPE, { queue: 'partners' })
  async post(ctx: JobContext<{ origin: string; orderId: string }>): Promise<{ status: number }> {
    const response = await this.agent.request({
      origin: ctx.payload.origin,
      path: '/orders',
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': ctx.jobId,
      },
      body: JSON.stringify({ reference: ctx.payload.orderId, lines: [{ sku: 'X-1', qty: 2 }] }),
      signal: ctx.signal,
    });
    await response.body.dump();
    if (response.statusCode !== 201) throw new Error(`the fake answered ${response.statusCode}`);
    return { status: response.statusCode };
  }
}

@Module({ providers: [BareHandler] })
class BareModule {}

const clockMs = () => performance.timeOrigin + performance.now();

function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  return { p50: Math.round(at(0.5)), p99: Math.round(at(0.99)) };
}

async function servePartner(): Promise<void> {
  const partner = await startFakePartner({ token: TOKEN });
  // Asked anything, it answers when it received each order since it was last asked, by
  // idempotency key, and forgets them, so each run starts with an empty record.
  process.on('message', () => {
    const times = partner.requests
      .filter((r) => r.method === 'POST')
      .map((r) => [String(r.headers['idempotency-key']), r.at.getTime()] as const);
    partner.requests.length = 0;
    process.send!(times);
  });
  process.send!({ url: partner.url });
}

/** Raw undici: the same POSTs to the same fake; `run` keeps each run's idempotency keys apart. */
function raw(url: string, run: string): Promise<number> {
  return rawPosts({
    url,
    path: '/orders',
    total: TOTAL,
    concurrency: CONCURRENCY,
    status: 201,
    request: (n) => ({
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': `raw-${run}-${n}`,
      },
      body: JSON.stringify({ reference: `R-${n}`, lines: [{ sku: 'X-1', qty: 2 }] }),
    }),
  });
}

/** `bare`: the floor's handler instead of http.action. */
async function throughJunction(url: string, partner: PeerProcess, bare: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-partner-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dir, 'junction.sqlite')}`,
    JUNCTION_SECRET_KEY: '33'.repeat(32),
    JUNCTION_ADMIN_KEY: 'jk_bench-admin-key-0123456789abcdefghijklmnop',
    LOG_LEVEL: 'warn',
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, [BareModule]), {
    logger: ['error', 'warn'],
  });
  try {
    const dataSource = app.get(DataSource);
    const [{ id: adminId }] = await dataSource.query<{ id: string }[]>(`SELECT id FROM account LIMIT 1`);
    const { connection } = await app.get(ConnectionsService).create(
      { accountId: adminId, role: 'admin', apiKeyId: 'bench' },
      {
        provider: 'http',
        name: 'bench partner',
        config: {
          baseUrl: url,
          rateLimit: { requests: 1_000_000, perMs: 1000 },
          actions: {
            'send-order': {
              method: 'POST',
              path: '/orders',
              body: { reference: '{{input.orderId}}', lines: '{{input.lines}}' },
              idempotencyHeader: 'Idempotency-Key',
            },
          },
        },
        credentials: { type: 'bearer', token: TOKEN },
      },
    );
    const jobs = app.get(JobsService);
    const origin = new URL(url).origin;
    let finished = 0;
    /** Enqueues `count` jobs in batches while the worker runs, and waits until all have succeeded. */
    const run = async (count: number) => {
      const enqueuedAt = new Map<string, number>();
      const started = Date.now();
      const cpuBefore = process.cpuUsage();
      for (let sent = 0; sent < count; sent += BATCH) {
        const t = clockMs();
        const orderIds = Array.from({ length: BATCH }, (_, i) => `J-${finished + sent + i}`);
        const batch = await jobs.enqueueMany(
          orderIds.map((orderId) =>
            bare
              ? { type: BARE_JOB_TYPE, payload: { origin, orderId } }
              : {
                  type: 'http.action',
                  payload: {
                    connectionId: connection.id,
                    action: 'send-order',
                    input: { orderId, lines: [{ sku: 'X-1', qty: 2 }] },
                  },
                },
          ),
        );
        for (const job of batch) enqueuedAt.set(job.id, t);
      }
      finished += count;
      await untilSucceeded(
        dataSource,
        'job',
        'dead',
        finished,
        `${bare ? BARE_JOB_TYPE : 'http.action'} jobs`,
      );
      const cpu = process.cpuUsage(cpuBefore);
      const [{ last }] = await dataSource.query<{ last: string }[]>(
        `SELECT max(finished_at) AS last FROM job WHERE status = 'succeeded'`,
      );
      const seconds = (new Date(`${last.replace(' ', 'T')}Z`).getTime() - started) / 1000;
      const received = new Map(await partner.ask<[string, number][]>('received'));
      const latencies = [...enqueuedAt].flatMap(([id, t]) => {
        const at = received.get(id);
        return at === undefined ? [] : [at - t];
      });
      if (latencies.length !== count)
        throw new Error(`the partner received ${latencies.length} of ${count} orders`);
      return {
        perSecond: count / seconds,
        cpuPerJobUs: Math.round((cpu.user + cpu.system) / count),
        ...percentiles(latencies),
      };
    };
    await run(WARM_UP);
    return await run(TOTAL);
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const partner = await startPeerProcess(fileURLToPath(import.meta.url), 'fake');
  try {
    // Both this process and the fake compile their hot code while the first run goes: eight raw
    // runs in a row measured 10,476 requests/s for the first and 15,199-18,962 for the next three.
    await raw(partner.url, 'warm-up');
    const rawCpu = process.cpuUsage();
    const rawBefore = await raw(partner.url, 'before');
    const rawCpuPerRequestUs = Math.round(((u) => u.user + u.system)(process.cpuUsage(rawCpu)) / TOTAL);
    // The fake forgets the raw orders, so the floor's run starts with an empty record.
    await partner.ask('received');
    const floor = await throughJunction(partner.url, partner, true);
    const junction = await throughJunction(partner.url, partner, false);
    const rawAfter = await raw(partner.url, 'after');
    const rawPerSecond = (rawBefore + rawAfter) / 2;
    const ofRaw = (perSecond: number) => (perSecond / rawPerSecond).toFixed(2);
    console.log(
      `http.action via Junction: ${Math.round(junction.perSecond)} jobs/s, enqueue-to-partner p50 ${junction.p50} ms ` +
        `p99 ${junction.p99} ms (raw undici to the same fake: ${Math.round(rawPerSecond)} requests/s, ` +
        `${Math.round(rawBefore)} before and ${Math.round(rawAfter)} after; ` +
        `ratio ${ofRaw(junction.perSecond)}; the engine's floor, a bare handler sending the raw POST: ` +
        `${Math.round(floor.perSecond)} jobs/s, ratio ${ofRaw(floor.perSecond)})`,
    );
    console.log(
      `CPU in this process per job: http.action ${junction.cpuPerJobUs} µs, floor ${floor.cpuPerJobUs} µs ` +
        `(raw undici client per request: ${rawCpuPerRequestUs} µs)`,
    );
    console.log(
      `conditions: node ${process.version}, ${os.cpus().length} cores, ${TOTAL} jobs enqueued in batches of ${BATCH}, ` +
        `SQLite with the embedded queue, default concurrency ${CONCURRENCY}, fake partner in its own process`,
    );
  } finally {
    partner.stop();
  }
}

servePeerOrRun('fake', servePartner, main);
