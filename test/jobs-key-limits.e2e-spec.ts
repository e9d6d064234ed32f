import { Injectable, Module } from '@nestjs/common';
import type { JobContext } from '../src/modules/jobs/job-context.js';
import { JobHandler } from '../src/modules/jobs/job-handler.decorator.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') === true;
const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';

/**
 * Both apps run in this one jest process, so one tally sees every job of a key start and end,
 * whichever app runs it.
 */
const tally = { running: new Map<string, number>(), overlaps: 0, runs: 0 };

async function runOnce(key: string): Promise<void> {
  const now = (tally.running.get(key) ?? 0) + 1;
  tally.running.set(key, now);
  tally.runs++;
  if (now > 1) tally.overlaps++;
  await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 6));
  tally.running.set(key, (tally.running.get(key) ?? 1) - 1);
}

@Injectable()
class KeyLimitHandlers {
  @JobHandler('key-limit.a', { queue: 'key-limit-a', concurrencyLimit: 1 })
  a(ctx: JobContext<{ key: string }>): Promise<void> {
    return runOnce(ctx.payload.key);
  }

  @JobHandler('key-limit.b', { queue: 'key-limit-b', concurrencyLimit: 1 })
  b(ctx: JobContext<{ key: string }>): Promise<void> {
    return runOnce(ctx.payload.key);
  }
}

@Module({ providers: [KeyLimitHandlers] })
class KeyLimitJobsModule {}

describe(`concurrency keys across processes (${transport})`, () => {
  let database: TestDatabase;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    if (!onPostgres) return;
    database = await TestDatabase.create();
    apps = [];
    for (let i = 0; i < 2; i++) {
      apps.push(await startTestApp({ database, features: [KeyLimitJobsModule] }));
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    if (database) await database.drop();
  });

  beforeEach(() => {
    tally.running.clear();
    tally.overlaps = 0;
    tally.runs = 0;
  });

  /** Enqueues `total` jobs of one key in bursts from both apps, alternating `types`; waits for all to run. */
  async function runBursts(key: string, types: string[], total: number): Promise<void> {
    const burst = 10;
    const enqueues: Promise<unknown>[] = [];
    for (let sent = 0; sent < total; sent += burst) {
      const app = apps[(sent / burst) % apps.length];
      enqueues.push(
        app.app.get(JobsService).enqueueMany(
          Array.from({ length: burst }, (_, i) => ({
            type: types[(sent + i) % types.length],
            payload: { key },
            options: { concurrencyKey: key },
          })),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await Promise.all(enqueues);
    await waitFor(
      () => Promise.resolve(tally.runs),
      (runs) => runs >= total,
      60_000,
    );
  }

  (onPostgres ? it : it.skip)(
    'runs one job of a key at a time when two processes claim one queue',
    async () => {
      await runBursts('same-queue', ['key-limit.a'], 200);
      expect(tally.overlaps).toBe(0);
    },
    90_000,
  );

  (onPostgres ? it : it.skip)(
    'runs one job of a key at a time when its jobs are in two queues',
    async () => {
      await runBursts('two-queues', ['key-limit.a', 'key-limit.b'], 200);
      expect(tally.overlaps).toBe(0);
    },
    90_000,
  );
});
