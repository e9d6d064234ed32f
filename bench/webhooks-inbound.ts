/**
 * Inbound webhooks over HTTP: GitHub-style deliveries (`X-Hub-Signature-256` over each body, a
 * fresh `X-GitHub-Delivery` each) to `POST /webhooks/{id}`, beside `POST /events` of the same
 * payload on the same app in the same run, both with one matching route to a no-op job.
 *
 * Conditions: the app in a child process of its own (SQLite in a fresh temporary directory, every
 * role, LOG_LEVEL=warn), autocannon in this process with 20 connections; per endpoint a 3 s
 * warm-up, then three rounds of 5 s each, the two endpoints taking turns; the median round is
 * reported. The connection's inbound limit is set far above the rate reached. Afterwards every
 * 202 must be one stored event.
 *
 *   npm run bench:webhooks (with the outbound part), or node dist/bench/webhooks-inbound.js
 */
import 'reflect-metadata';
import { createHmac, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
const ROLES = 'api,worker,scheduler';

const payload = (n: number) =>
  JSON.stringify({
    ref: 'refs/heads/main',
    after: `c0ffee${n}`,
    repository: { full_name: 'acme/shop' },
    pusher: { name: 'dev' },
    commits: [{ id: `c0ffee${n}`, message: 'Fix the cart' }],
  });

let sequence = 0;

async function measure(base: string, target: 'webhooks' | 'events', connection: Connection, seconds: number) {
  const json = { 'content-type': 'application/json' };
  const options: Options =
    target === 'webhooks'
      ? {
          url: `${base}/webhooks/${connection.id}`,
          connections: CONNECTIONS,
          duration: seconds,
          method: 'POST',
          requests: [
            {
              setupRequest: (request) => {
                const body = payload(++sequence);
                const signature = createHmac('sha256', connection.secret).update(body).digest('hex');
                return {
                  ...request,
                  body,
                  headers: {
                    ...json,
                    'x-github-event': 'push',
                    'x-github-delivery': randomUUID(),
                    'x-hub-signature-256': `sha256=${signature}`,
                  },
                };
              },
            },
          ],
        }
      : {
          url: `${base}/events`,
          connections: CONNECTIONS,
          duration: seconds,
          method: 'POST',
          headers: { ...json, authorization: `Bearer ${ADMIN_KEY}` },
          requests: [
            {
              setupRequest: (request) => {
                const n = ++sequence;
                const body = JSON.stringify({
                  name: 'github.push',
                  source: 'bench',
                  idempotencyKey: randomUUID(),
                  data: JSON.parse(payload(n)) as unknown,
                });
                return { ...request, body };
              },
            },
          ],
        };
  const result = await autocannonRun(options);
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${target}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return result;
}

interface Connection {
  id: string;
  secret: string;
}

/** Measures both and returns the line to print. */
export async function inbound(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-webhooks-in-'));
  const app = await startAppProcess(fileURLToPath(import.meta.url), dir, ROLES);
  try {
    const { base } = app;
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const post = async (url: string, body: unknown) => {
      const response = await fetch(`${base}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (response.status !== 201) throw new Error(`POST ${url} answered ${response.status}`);
      return (await response.json()) as Record<string, unknown>;
    };
    await post('/routes', { name: 'bench', eventPattern: 'github.push', jobType: NOOP_JOB_TYPE });
    const created = await post('/connections', {
      provider: 'github',
      name: 'bench',
      config: { inboundRateLimit: { requests: 10_000_000, perMs: 1000 } },
      credentials: { type: 'none' },
    });
    const connection = { id: created.id as string, secret: created.webhookSecret as string };

    await measure(base, 'events', connection, WARMUP_S);
    await measure(base, 'webhooks', connection, WARMUP_S);
    const webhookRounds: Result[] = [];
    const eventRounds: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      eventRounds.push(await measure(base, 'events', connection, ROUND_S));
      webhookRounds.push(await measure(base, 'webhooks', connection, ROUND_S));
    }
    const stored = (await (await fetch(`${base}/event-types/github.push`, { headers })).json()) as {
      count: number;
    };
    const accepted = [...webhookRounds, ...eventRounds].reduce((sum, r) => sum + r['2xx'], 0);
    if (stored.count < accepted)
      throw new Error(`stored ${stored.count} github.push events for ${accepted} accepted`);

    const webhooks = medianRound(webhookRounds, ROUND_S);
    const events = medianRound(eventRounds, ROUND_S);
    const perSecond = webhooks.median['2xx'] / ROUND_S;
    const eventsPerSecond = events.median['2xx'] / ROUND_S;
    return (
      `inbound webhooks (GitHub-signed): ${Math.round(perSecond)} deliveries/s stored as events, ` +
      `p50 ${webhooks.median.latency.p50} ms p99 ${webhooks.median.latency.p99} ms ` +
      `(POST /events of the same payload: ${Math.round(eventsPerSecond)} events/s, p50 ${events.median.latency.p50} ms ` +
      `p99 ${events.median.latency.p99} ms; ratio ${(perSecond / eventsPerSecond).toFixed(2)}) ` +
      `[median of ${ROUNDS} rounds of ${ROUND_S} s; SQLite, embedded queue, every role, 1 route, ` +
      `${CONNECTIONS} connections, ${os.cpus().length} cores]`
    );
  } finally {
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const entry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (entry && process.argv[2] === 'serve') {
  serveApp(process.argv[3], process.argv[4]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (entry) {
  inbound().then(
    (line) => console.log(line),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
