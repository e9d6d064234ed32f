import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { JobProbe, TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';
const admin = bearer(ADMIN_KEY);

interface JobBody {
  status: string;
  attempt: number;
  result: unknown;
  attempts: { attempt: number; outcome: string; errorCode: string | null }[];
}

const getJob = async (t: TestApp, id: string) =>
  (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;

describe(`worker shutdown (${transport})`, () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await TestDatabase.create();
  });
  afterEach(() => database.drop());

  const start = () =>
    startTestApp({ database, features: [TestJobsModule], env: { JUNCTION_JOB_SHUTDOWN_GRACE_MS: '1500' } });

  it('lets a running job finish within the grace period before closing', async () => {
    const t = await start();
    const job = await t.app.get(JobsService).enqueue('test.blocking', { gate: 'finishes' });
    const probe = t.app.get(JobProbe);
    await probe.whenStarted('finishes');
    setTimeout(() => probe.open('finishes'), 300);
    const closing = Date.now();
    await t.close();
    expect(Date.now() - closing).toBeGreaterThanOrEqual(250);

    const after = await start();
    try {
      expect(await getJob(after, job.id)).toMatchObject({
        status: 'succeeded',
        attempt: 1,
        result: 'opened finishes',
      });
    } finally {
      await after.close();
    }
  });

  it('releases a job still running after the grace period, and another worker takes it at once', async () => {
    const first = await start();
    const job = await first.app.get(JobsService).enqueue('test.blocking', { gate: 'stuck' });
    await first.app.get(JobProbe).whenStarted('stuck');
    await first.close();

    const second = await start();
    try {
      const released = await getJob(second, job.id);
      expect(released.attempts[0]).toMatchObject({
        attempt: 1,
        outcome: 'interrupted',
        errorCode: 'SHUTDOWN',
      });
      // Well before a lease (30 s) could have expired.
      const probe = second.app.get(JobProbe);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        probe.whenStarted('stuck'),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error('not taken within 5 s')), 5000)),
        ),
      ]).finally(() => clearTimeout(timer));
      probe.open('stuck');
      const done = await waitFor(
        () => getJob(second, job.id),
        (j) => j.status === 'succeeded',
      );
      expect(done.attempts.map((a) => a.outcome)).toEqual(['interrupted', 'succeeded']);
    } finally {
      await second.close();
    }
  });
});

const bullOnly = process.env.REDIS_URL ? describe : describe.skip;
const embeddedOnly = process.env.REDIS_URL ? describe.skip : describe;

embeddedOnly('worker shutdown with jobs claimed ahead (the embedded queue)', () => {
  it('hands back the jobs it claimed but never started, unclaimed, so another worker runs them at once', async () => {
    const database = await TestDatabase.create();
    const env = { JUNCTION_WORKER_CONCURRENCY: '2', JUNCTION_JOB_SHUTDOWN_GRACE_MS: '200' };
    try {
      const first = await startTestApp({ database, features: [TestJobsModule], env });
      const jobs = await first.app
        .get(JobsService)
        .enqueueMany(Array.from({ length: 20 }, () => ({ type: 'test.sleep', payload: { ms: 300 } })));
      const counts = async (t: TestApp) =>
        (await t.app.get(JobsService).queueStats()).find((q) => q.queue === 'sleepy')?.counts;
      // 2 run and more are claimed ahead, all shown as running.
      await waitFor(
        async () => (await counts(first))?.running ?? 0,
        (running) => running > 2,
      );
      await first.close();

      const second = await startTestApp({ database, features: [TestJobsModule], env });
      try {
        // Within seconds: none of them waits out the first worker's leases (30 s).
        await waitFor(
          async () => (await counts(second))?.succeeded ?? 0,
          (n) => n === jobs.length,
          8000,
        );
        const attempts = await Promise.all(jobs.map(async (job) => (await getJob(second, job.id)).attempts));
        // Only jobs that had started were interrupted; the ones handed back kept their attempt.
        const interrupted = attempts.flat().filter((a) => a.outcome === 'interrupted');
        expect(interrupted.length).toBeLessThanOrEqual(2);
        for (const list of attempts) {
          expect(list.map((a) => a.attempt)).toEqual(list.map((_, i) => i + 1));
          expect(list.at(-1)?.outcome).toBe('succeeded');
        }
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});

bullOnly('worker shutdown with a Bull job of many ids', () => {
  it('hands the ids it has not claimed back to Redis, so another worker runs them without waiting for the reconciler', async () => {
    const database = await TestDatabase.create();
    const env = { JUNCTION_WORKER_CONCURRENCY: '2', JUNCTION_JOB_SHUTDOWN_GRACE_MS: '200' };
    try {
      const first = await startTestApp({ database, features: [TestJobsModule], env });
      const jobs = await first.app
        .get(JobsService)
        .enqueueMany(Array.from({ length: 20 }, () => ({ type: 'test.sleep', payload: { ms: 300 } })));
      const succeeded = async (t: TestApp) =>
        (await t.app.get(JobsService).queueStats()).find((q) => q.queue === 'sleepy')?.counts.succeeded ?? 0;
      await waitFor(
        async () =>
          (await first.app.get(JobsService).queueStats()).find((q) => q.queue === 'sleepy')?.counts.running ??
          0,
        (running) => running > 0,
      );
      await first.close();
      // Closing did not run the whole Bull job: 2 run at a time, 300 ms each, 200 ms of grace.
      const second = await startTestApp({ database, features: [TestJobsModule], env });
      try {
        expect(await succeeded(second)).toBeLessThanOrEqual(4);
        // The default reconciler runs every 15 s; this must not need it.
        await waitFor(
          () => succeeded(second),
          (n) => n === jobs.length,
          8000,
        );
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  });
});

bullOnly('the Bull reconciler', () => {
  it('finishes all 100 queued jobs after every Redis key of the run was deleted', async () => {
    const t = await startTestApp({ features: [TestJobsModule], env: { JUNCTION_JOB_RECONCILE_MS: '300' } });
    try {
      const jobs = await t.app.get(JobsService).enqueueMany(
        Array.from({ length: 100 }, (_, n) => ({
          type: 'test.echo',
          payload: { n },
          options: { delayMs: 1000 },
        })),
      );
      // The jobs wait in Bull's delayed set; this is FLUSHALL limited to this run's key prefix.
      expect(await t.database.flushRedis()).toBeGreaterThan(0);
      const count = async () =>
        Number(
          (
            (await t.app.get(JobsService).queueStats()) as { queue: string; counts: { succeeded: number } }[]
          ).find((q) => q.queue === 'default')?.counts.succeeded ?? 0,
        );
      await waitFor(count, (n) => n === jobs.length, 20_000, 100);
    } finally {
      await t.close();
    }
  });
});
