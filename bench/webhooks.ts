/**
 * Outbound webhooks through the whole engine: events stored in batches, each fanned out to one
 * endpoint, signed and delivered by the worker to a local receiver (test/fakes/webhook-receiver.ts,
 * in a process of its own), from the first event stored to the last delivery marked succeeded.
 * Beside it, in the same run, the baseline: raw undici POSTs of bodies of the same size to the
 * same receiver, 20 in flight at once (the worker's default concurrency), with keep-alive, measured
 * before and after the run through Junction; the ratio is to the mean of the two.
 *
 * Conditions: 5,000 events on SQLite with the embedded queue, ingested with
 * `EventIntakeService.ingestBatch` in batches of 500 while the worker runs; one endpoint matching
 * them all; private addresses allowed (the receiver is on 127.0.0.1); the app boots without HTTP.
 *
 *   npm run bench:webhooks
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { WebhookReceiver } from '../test/fakes/webhook-receiver.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/load-config.js';
import { EventIntakeService } from '../src/modules/events/event-intake.service.js';
import { WebhookEndpointsService } from '../src/modules/webhooks/webhook-endpoints.service.js';
import { rawPosts, servePeerOrRun, startPeerProcess, untilSucceeded } from './support/baseline.js';
import type { PeerProcess } from './support/baseline.js';
import { inbound } from './webhooks-inbound.js';

const TOTAL = 5_000;
/**
 * Events delivered through Junction first and not counted, as a first raw run is not, so both are
 * measured warm.
 */
const WARM_UP = 500;
const BATCH = 500;
/** JUNCTION_WORKER_CONCURRENCY's default, and the raw baseline's requests in flight. */
const CONCURRENCY = 20;

async function serveReceiver(): Promise<void> {
  const receiver = await WebhookReceiver.start();
  process.on('message', (at) => {
    const received = receiver.received(String(at));
    process.send!(new Set(received.map((r) => String(r.headers['webhook-id'] ?? r.body))).size);
  });
  process.send!({ url: receiver.url });
}

function bodyOf(n: number): string {
  return JSON.stringify({
    type: 'order.created',
    timestamp: new Date().toISOString(),
    data: {
      id: `raw-${n}`,
      name: 'order.created',
      source: 'bench',
      data: { orderId: `R-${n}`, lines: [{ sku: 'X-1', qty: 2 }] },
    },
  });
}

/** Raw undici: the same POSTs to the same receiver. */
function raw(url: string): Promise<number> {
  return rawPosts({
    url,
    path: '/raw',
    total: TOTAL,
    concurrency: CONCURRENCY,
    status: 200,
    request: (n) => ({
      headers: { 'content-type': 'application/json', 'webhook-id': `raw-${n}` },
      body: bodyOf(n),
    }),
  });
}

async function throughJunction(url: string, receiver: PeerProcess) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-webhooks-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dir, 'junction.sqlite')}`,
    JUNCTION_SECRET_KEY: '44'.repeat(32),
    JUNCTION_ADMIN_KEY: 'jk_bench-admin-key-0123456789abcdefghijklmnop',
    JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true',
    LOG_LEVEL: 'warn',
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    const dataSource = app.get(DataSource);
    await app.get(WebhookEndpointsService).create({
      url: `${url}/junction`,
      eventPatterns: ['order.*'],
      filter: null,
      description: 'bench',
      headers: {},
      rateLimit: null,
      ordered: false,
      enabled: true,
    });
    const intake = app.get(EventIntakeService);
    let finished = 0;
    /** Ingests `count` events in batches while the worker runs; waits until all are delivered. */
    const run = async (count: number) => {
      const started = Date.now();
      for (let sent = 0; sent < count; sent += BATCH) {
        const results = await intake.ingestBatch(
          Array.from({ length: BATCH }, (_, i) => ({
            name: 'order.created',
            source: 'bench',
            data: { orderId: `J-${finished + sent + i}`, lines: [{ sku: 'X-1', qty: 2 }] },
          })),
          null,
        );
        if (results.some((r) => !r.ok)) throw new Error('an event was refused');
      }
      finished += count;
      await untilSucceeded(dataSource, 'webhook_delivery', 'failed', finished, 'deliveries');
      const [{ last }] = await dataSource.query<{ last: string }[]>(
        `SELECT max(updated_at) AS last FROM webhook_delivery WHERE status = 'succeeded'`,
      );
      const seconds = (new Date(`${last.replace(' ', 'T')}Z`).getTime() - started) / 1000;
      const received = await receiver.ask<number>('/junction');
      if (received !== finished) throw new Error(`the receiver got ${received} of ${finished} deliveries`);
      return count / seconds;
    };
    await run(WARM_UP);
    return await run(TOTAL);
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(await inbound());
  const receiver = await startPeerProcess(fileURLToPath(import.meta.url), 'receiver');
  try {
    // Both this process and the receiver compile their hot code while the first run goes.
    await raw(receiver.url);
    const rawBefore = await raw(receiver.url);
    const junction = await throughJunction(receiver.url, receiver);
    const rawAfter = await raw(receiver.url);
    const rawPerSecond = (rawBefore + rawAfter) / 2;
    console.log(
      `webhooks out via Junction: ${Math.round(junction)} deliveries/s ` +
        `(raw undici to the same receiver: ${Math.round(rawPerSecond)} requests/s, ` +
        `${Math.round(rawBefore)} before and ${Math.round(rawAfter)} after; ratio ${(junction / rawPerSecond).toFixed(2)})`,
    );
    console.log(
      `conditions: node ${process.version}, ${os.cpus().length} cores, ${TOTAL} events ingested in batches of ${BATCH}, ` +
        `one endpoint, SQLite with the embedded queue, default concurrency ${CONCURRENCY}, receiver in its own process`,
    );
  } finally {
    receiver.stop();
  }
}

servePeerOrRun('receiver', serveReceiver, main);
