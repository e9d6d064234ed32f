import { Module } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { loadConfig } from '../src/config/load-config.js';
import { createApp } from '../src/app.js';
import { WriteSerializer } from '../src/database/write-serializer.js';
import { EnqueuesJobs } from '../src/modules/jobs/enqueues-jobs.decorator.js';
import { JobHandler } from '../src/modules/jobs/job-handler.decorator.js';
import { Job } from '../src/modules/jobs/job.entity.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { JobProbe, TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';

interface JobBody {
  id: string;
  status: string;
  attempt: number;
  result: unknown;
  lastError: { code: string; message: string } | null;
  progress: number | null;
  attempts: {
    attempt: number;
    outcome: string;
    errorCode: string | null;
    errorMessage: string | null;
    startedAt: string;
    finishedAt: string | null;
  }[];
  steps: { name: string; result: unknown; attempt: number }[];
  logs: { attempt: number; message: string }[];
}

describe(`jobs (${transport})`, () => {
  let t: TestApp;
  let probe: JobProbe;
  const admin = bearer(ADMIN_KEY);

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule], env: { JUNCTION_JOB_RECONCILE_MS: '300' } });
    probe = t.app.get(JobProbe);
  });
  afterAll(() => t.close());

  const getJob = async (id: string): Promise<JobBody> =>
    (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;
  const finished = (job: JobBody) => ['succeeded', 'dead', 'cancelled'].includes(job.status);
  const waitUntil = (id: string, accept: (job: JobBody) => boolean = finished) =>
    waitFor(() => getJob(id), accept);
  const post = async (body: object, status = 201): Promise<JobBody> =>
    (await t.http().post('/jobs').set(admin).send(body).expect(status)).body as JobBody;

  it('runs a job posted over HTTP and shows its result and attempt', async () => {
    const created = await post({ type: 'test.echo', payload: { hello: 'world' } });
    expect(created).toMatchObject({ status: 'queued', attempt: 0, queue: 'default' });
    const job = await waitUntil(created.id);
    expect(job).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      result: { echoed: { hello: 'world' }, attempt: 1 },
    });
    expect(job.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'succeeded', errorCode: null }),
    ]);
    const list = await t
      .http()
      .get('/jobs')
      .query({ type: 'test.echo', status: 'succeeded' })
      .set(admin)
      .expect(200);
    expect(list.body.items.map((j: JobBody) => j.id)).toContain(created.id);
    const createdAt = Date.parse((created as unknown as { createdAt: string }).createdAt);
    const inRange = await t
      .http()
      .get('/jobs')
      .query({ from: new Date(createdAt).toISOString(), to: new Date(createdAt + 1).toISOString() })
      .set(admin)
      .expect(200);
    expect(inRange.body.items.map((j: JobBody) => j.id)).toEqual([created.id]);
    const after = await t
      .http()
      .get('/jobs')
      .query({ from: new Date(createdAt + 1).toISOString(), type: 'test.echo' })
      .set(admin);
    expect(after.body.items.map((j: JobBody) => j.id)).not.toContain(created.id);
  });

  it('returns the first job for a repeated idempotency key and runs it once', async () => {
    const first = await post({ type: 'test.echo', payload: { n: 1 }, idempotencyKey: 'order:A-1' });
    const second = await post({ type: 'test.echo', payload: { n: 2 }, idempotencyKey: 'order:A-1' });
    expect(second.id).toBe(first.id);
    const job = await waitUntil(first.id);
    expect(job.result).toMatchObject({ echoed: { n: 1 }, idempotencyKey: 'order:A-1' });
    expect(probe.runs.get(first.id)).toBe(1);
  });

  it('refuses an unknown type (422), a payload that does not validate (400) and unknown fields (400)', async () => {
    const unknown = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'no.such-type', payload: {} })
      .expect(422);
    expect(unknown.body.error).toBe('UNKNOWN_JOB_TYPE');
    expect(unknown.body.details.knownTypes).toContain('test.echo');
    const invalid = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'test.typed', payload: { orderId: 7 } })
      .expect(400);
    expect(invalid.body.error).toBe('INVALID_PAYLOAD');
    expect(invalid.body.details[0].field).toBe('orderId');
    await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'test.echo', payload: {}, colour: 'red' })
      .expect(400);
    await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'test.echo', payload: {}, maxAttempts: 0 })
      .expect(400);
    const typed = await post({ type: 'test.typed', payload: { orderId: 'A-7' } });
    expect((await waitUntil(typed.id)).result).toBe('A-7');
  });

  it('retries with backoff until it succeeds, keeping each failed attempt', async () => {
    const created = await post({ type: 'test.flaky', payload: { failUntil: 3 } });
    const job = await waitUntil(created.id);
    expect(job.status).toBe('succeeded');
    expect(job.result).toBe(3);
    expect(job.attempts.map((a) => [a.attempt, a.outcome, a.errorMessage])).toEqual([
      [1, 'failed', 'failure number 1'],
      [2, 'failed', 'failure number 2'],
      [3, 'succeeded', null],
    ]);
  });

  it('marks a job dead after maxAttempts with every error kept, and at once on a permanent error', async () => {
    const failing = await waitUntil((await post({ type: 'test.always-fails', payload: {} })).id);
    expect(failing.status).toBe('dead');
    expect(failing.attempts.map((a) => [a.errorCode, a.errorMessage])).toEqual([
      ['TEMPORARY', 'partner down (attempt 1)'],
      ['TEMPORARY', 'partner down (attempt 2)'],
      ['TEMPORARY', 'partner down (attempt 3)'],
    ]);
    expect(failing.lastError).toEqual({ code: 'TEMPORARY', message: 'partner down (attempt 3)' });
    const permanent = await waitUntil((await post({ type: 'test.permanent', payload: {} })).id);
    expect(permanent).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
  });

  it('honours a rate limit retry-after instead of the backoff', async () => {
    const job = await waitUntil(
      (await post({ type: 'test.rate-limited', payload: { retryAfterMs: 700 } })).id,
    );
    expect(job.status).toBe('succeeded');
    const [first, second] = job.attempts;
    expect(first.errorCode).toBe('RATE_LIMITED');
    expect(Date.parse(second.startedAt) - Date.parse(first.finishedAt!)).toBeGreaterThanOrEqual(690);
  });

  it('aborts the signal at timeoutMs: the attempt fails with TIMEOUT and is retried', async () => {
    const job = await waitUntil((await post({ type: 'test.slow', payload: {} })).id);
    expect(job.status).toBe('dead');
    expect(job.attempts.map((a) => a.errorCode)).toEqual(['TIMEOUT', 'TIMEOUT']);
    const first = job.attempts[0];
    expect(Date.parse(first.finishedAt!) - Date.parse(first.startedAt)).toBeLessThan(2000);
  });

  it('cancels a queued job at once, and a running one by aborting its signal without recording its result', async () => {
    const later = await post({ type: 'test.echo', payload: {}, delayMs: 60_000 });
    const cancelled = await t.http().post(`/jobs/${later.id}/cancel`).set(admin).expect(200);
    expect(cancelled.body.status).toBe('cancelled');

    const running = await post({ type: 'test.blocking', payload: { gate: 'cancel-me' } });
    await probe.whenStarted('cancel-me');
    await t.http().post(`/jobs/${running.id}/cancel`).set(admin).expect(200);
    await waitFor(
      () => Promise.resolve(probe.abortReasons.get('cancel-me')),
      (reason) => reason !== undefined,
    );
    expect(probe.abortReasons.get('cancel-me')).toBe('CANCELLED');
    probe.open('cancel-me');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const job = await getJob(running.id);
    expect(job).toMatchObject({ status: 'cancelled', result: null });
    expect(job.attempts).toEqual([expect.objectContaining({ outcome: 'cancelled', errorCode: 'CANCELLED' })]);

    const again = await t.http().post(`/jobs/${running.id}/cancel`).set(admin).expect(409);
    expect(again.body.error).toBe('JOB_NOT_CANCELLABLE');
  });

  it('retries a dead job on request, giving it one more attempt', async () => {
    const dead = await waitUntil(
      (await post({ type: 'test.flaky', payload: { failUntil: 2 }, maxAttempts: 1 })).id,
    );
    expect(dead.status).toBe('dead');
    const requeued = await t.http().post(`/jobs/${dead.id}/retry`).set(admin).expect(200);
    expect(requeued.body.status).toBe('queued');
    const job = await waitUntil(dead.id);
    expect(job).toMatchObject({ status: 'succeeded', attempt: 2, result: 2 });
    const conflict = await t.http().post(`/jobs/${dead.id}/retry`).set(admin).expect(409);
    expect(conflict.body.error).toBe('JOB_NOT_RETRYABLE');
  });

  it('retries every job matching a filter at once, and only those', async () => {
    const from = new Date().toISOString();
    const retryAll = async (filter: object, status = 200) =>
      (await t.http().post('/jobs/retry').set(admin).send({ filter }).expect(status)).body as {
        retried: number;
        error?: string;
      };
    const flaky = await Promise.all(
      [1, 2, 3].map(() => post({ type: 'test.flaky', payload: { failUntil: 2 }, maxAttempts: 1 })),
    );
    const other = await post({ type: 'test.permanent', payload: {} });
    for (const job of [...flaky, other]) expect((await waitUntil(job.id)).status).toBe('dead');

    expect(await retryAll({ status: 'dead', type: 'test.flaky', queue: 'blocking', from })).toEqual({
      retried: 0,
    });
    expect(await retryAll({ status: 'cancelled', type: 'test.flaky', from })).toEqual({ retried: 0 });
    expect(await retryAll({ status: 'dead', type: 'test.flaky', from, to: from })).toEqual({ retried: 0 });
    expect(await retryAll({ status: 'dead', type: 'test.flaky', from })).toEqual({ retried: 3 });
    for (const job of flaky) {
      expect(await waitUntil(job.id)).toMatchObject({ status: 'succeeded', attempt: 2, result: 2 });
    }
    expect(await getJob(other.id)).toMatchObject({ status: 'dead', attempt: 1 });
    expect(await retryAll({ status: 'dead', type: 'test.flaky', from })).toEqual({ retried: 0 });

    expect((await retryAll({ status: 'succeeded' }, 400)).error).toBe('VALIDATION_FAILED');
    await retryAll({ status: 'dead', from: 'yesterday' }, 400);
    await retryAll({ status: 'dead', colour: 'red' }, 400);
    await t.http().post('/jobs/retry').set(admin).send({}).expect(400);
  });

  it('resumes a retried flow after its last completed step, with logs and progress', async () => {
    const job = await waitUntil((await post({ type: 'test.flow', payload: { name: 'shop' } })).id);
    expect(job.status).toBe('succeeded');
    expect(job.result).toEqual({ serverId: 'srv-9', record: 'shop.example.com', stored: true });
    expect(Object.fromEntries(probe.stepRuns)).toEqual({ create: 1, dns: 1, store: 1 });
    expect(job.steps.map((s) => [s.name, s.attempt])).toEqual([
      ['create-at-provider', 1],
      ['map-dns', 1],
      ['store-details', 2],
    ]);
    expect(job.logs.map((l) => l.message)).toEqual([
      'attempt 1: server srv-9, dns shop.example.com',
      'attempt 2: server srv-9, dns shop.example.com',
    ]);
    expect(job.progress).toBe(100);
  });

  it('runs at most concurrencyLimit jobs with one concurrency key at a time', async () => {
    const jobs = await Promise.all(
      Array.from({ length: 12 }, () =>
        post({
          type: 'test.keyed',
          payload: { key: 'k' },
          concurrencyKey: 'account:k',
        }),
      ),
    );
    for (const job of jobs) expect((await waitUntil(job.id)).status).toBe('succeeded');
    expect(probe.maxRunningPerKey).toBe(2);
  });

  it('enqueues with the caller’s transaction: nothing on rollback, dispatched after commit', async () => {
    const jobs = t.app.get(JobsService);
    const serializer = t.app.get(WriteSerializer);
    let rolledBack: Job | undefined;
    await expect(
      serializer.transaction(async (manager) => {
        rolledBack = await jobs.enqueue('test.echo', { n: 'rollback' }, {}, manager);
        throw new Error('the caller failed');
      }),
    ).rejects.toThrow('the caller failed');
    await t.http().get(`/jobs/${rolledBack!.id}`).set(admin).expect(404);
    const committed = await serializer.transaction((manager) =>
      jobs.enqueueMany(
        [
          { type: 'test.echo', payload: { n: 1 } },
          { type: 'test.echo', payload: { n: 2 }, options: { priority: 5 } },
        ],
        manager,
      ),
    );
    for (const job of committed) expect((await waitUntil(job.id)).status).toBe('succeeded');
  });

  it('reports queues, Prometheus metrics, and purges finished jobs', async () => {
    const queues = await t.http().get('/queues').set(admin).expect(200);
    const main = queues.body.find((q: { queue: string }) => q.queue === 'default');
    expect(main.counts.succeeded).toBeGreaterThan(0);
    expect(main.succeededLastMinute).toBeGreaterThan(0);
    expect(queues.body.map((q: { queue: string }) => q.queue)).toEqual(
      expect.arrayContaining(['blocking', 'keyed']),
    );

    const metrics = await t.http().get('/metrics').set(admin).expect(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toMatch(/junction_jobs\{type="test.echo",status="succeeded"\} \d+/);
    expect(metrics.text).toMatch(
      /junction_job_attempt_duration_seconds_count\{type="test.echo",outcome="succeeded"\} \d+/,
    );
    expect(metrics.text).toContain('junction_queue_depth{queue="default"}');
    expect(metrics.text).toContain('junction_queue_oldest_queued_age_seconds{queue="default"}');
    await t.http().get('/metrics').expect(401);

    const waiting = await post({ type: 'test.echo', payload: {}, delayMs: 60_000 });
    await t.http().delete('/jobs').query({ before: 'yesterday' }).set(admin).expect(400);
    const purged = await t
      .http()
      .delete('/jobs')
      .query({ before: new Date(Date.now() + 1000).toISOString() })
      .set(admin)
      .expect(200);
    expect(purged.body.deleted).toBeGreaterThan(5);
    const left = await t.http().get('/jobs').set(admin).expect(200);
    expect(left.body.items.map((j: JobBody) => j.status)).toEqual(['queued']);
    expect(left.body.items[0].id).toBe(waiting.id);
  });

  it('lets viewers read but not act', async () => {
    const account = await t
      .http()
      .post('/accounts')
      .set(admin)
      .send({ name: 'v', email: 'viewer@jobs.test', role: 'viewer' })
      .expect(201);
    const key = await t
      .http()
      .post(`/accounts/${account.body.id}/api-keys`)
      .set(admin)
      .send({ name: 'v' })
      .expect(201);
    const viewer = bearer(key.body.key as string);
    await t.http().get('/jobs').set(viewer).expect(200);
    await t.http().get('/queues').set(viewer).expect(200);
    await t.http().post('/jobs').set(viewer).send({ type: 'test.echo', payload: {} }).expect(403);
    await t
      .http()
      .post('/jobs/retry')
      .set(viewer)
      .send({ filter: { status: 'dead' } })
      .expect(403);
  });
});

describe(`job priorities (${transport})`, () => {
  @Injectable()
  class OrderedHandler {
    readonly seen: number[] = [];

    @JobHandler('test.ordered', { queue: 'ordered', concurrency: 1 })
    run(ctx: { payload: { p: number } }): void {
      this.seen.push(ctx.payload.p);
    }
  }
  @Module({ providers: [OrderedHandler] })
  class OrderedModule {}

  it('runs due jobs of a queue in priority order, highest first', async () => {
    const t = await startTestApp({ features: [OrderedModule] });
    try {
      const jobs = t.app.get(JobsService);
      // Late enough that all five wait in Bull's delayed set together, even on a busy machine.
      const runAt = new Date(Date.now() + 2000);
      const enqueued = await jobs.enqueueMany(
        [3, 9, 1, 7, 5].map((p) => ({
          type: 'test.ordered',
          payload: { p },
          options: { priority: p, runAt },
        })),
      );
      await waitFor(
        () => Promise.resolve(t.app.get(OrderedHandler).seen.length),
        (n) => n === enqueued.length,
      );
      expect(t.app.get(OrderedHandler).seen).toEqual([9, 7, 5, 3, 1]);
    } finally {
      await t.close();
    }
  });
});

describe(`a job cancelled while it waits for a slot (${transport})`, () => {
  it('never starts its handler, stays cancelled and frees its slot for the next job', async () => {
    const t = await startTestApp({ features: [TestJobsModule], env: { JUNCTION_WORKER_CONCURRENCY: '1' } });
    try {
      const admin = bearer(ADMIN_KEY);
      const probe = t.app.get(JobProbe);
      const getJob = async (id: string) =>
        (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;
      const started = new Set<string>();
      for (const gate of ['a', 'b', 'next']) void probe.whenStarted(gate).then(() => started.add(gate));
      // Enqueued together, so Bull delivers them together too: both are claimed, one runs in the
      // only slot and the other waits for it, shown as running.
      const [a, b] = await t.app
        .get(JobsService)
        .enqueueMany(['a', 'b'].map((gate) => ({ type: 'test.blocking', payload: { gate } })));
      const first = await Promise.race([
        probe.whenStarted('a').then(() => 'a'),
        probe.whenStarted('b').then(() => 'b'),
      ]);
      const [waitingGate, waiting] = first === 'a' ? ['b', b] : ['a', a];
      await waitFor(
        () => getJob(waiting.id),
        (job) => job.status === 'running',
      );
      const cancelled = await t.http().post(`/jobs/${waiting.id}/cancel`).set(admin).expect(200);
      expect(cancelled.body.status).toBe('cancelled');
      probe.open(first);

      // The next job starts only once the cancelled one's turn for the slot has passed.
      const next = (
        await t
          .http()
          .post('/jobs')
          .set(admin)
          .send({ type: 'test.blocking', payload: { gate: 'next' } })
          .expect(201)
      ).body as JobBody;
      await probe.whenStarted('next');
      probe.open('next');
      expect(
        (
          await waitFor(
            () => getJob(next.id),
            (job) => job.status !== 'running',
          )
        ).status,
      ).toBe('succeeded');
      expect(started.has(waitingGate)).toBe(false);
      const job = await getJob(waiting.id);
      expect(job).toMatchObject({ status: 'cancelled', result: null });
      expect(job.attempts).toEqual([
        expect.objectContaining({ outcome: 'cancelled', errorCode: 'CANCELLED' }),
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('job handler setup', () => {
  @Injectable()
  class SecondEchoHandler {
    @JobHandler('test.echo')
    echo(): void {}
  }
  @Module({ providers: [SecondEchoHandler] })
  class DuplicateModule {}

  @Injectable()
  @EnqueuesJobs('partner.nobody-handles')
  class Orphan {}
  @Module({ providers: [Orphan] })
  class OrphanModule {}

  async function bootError(feature: object): Promise<string> {
    const database = await TestDatabase.create();
    const app = await createApp(loadConfig(database.env()), [TestJobsModule, feature as never]);
    try {
      await app.init();
      return 'booted';
    } catch (error) {
      return (error as Error).message;
    } finally {
      await app.close();
      await database.drop();
    }
  }

  it('stops the boot when a job type has two handlers', async () => {
    expect(await bootError(DuplicateModule)).toContain(
      'job type "test.echo" has two handlers: TestJobHandlers.echo and SecondEchoHandler.echo',
    );
  });

  it('stops the boot when an enqueued job type has no handler', async () => {
    expect(await bootError(OrphanModule)).toContain(
      'job type "partner.nobody-handles" is enqueued by Orphan but has no @JobHandler',
    );
  });
});

const embeddedOnly = process.env.REDIS_URL ? describe.skip : describe;

embeddedOnly('the embedded queue when idle', () => {
  it('starts a job enqueued in this process at once, and one written by another process within a second', async () => {
    const t = await startTestApp({ features: [TestJobsModule] });
    try {
      // Long idle: the loop has backed off to its slowest poll.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const jobs = t.app.get(JobsService);
      const woken = await jobs.enqueue('test.echo', { via: 'enqueue' });
      const startedAfter = async (id: string) => {
        const job = await waitFor(
          () => jobs.get(id),
          (details) => details.job.status === 'succeeded',
          5000,
          10,
        );
        return job.job.startedAt!.getTime() - job.job.createdAt.getTime();
      };
      expect(await startedAfter(woken.id)).toBeLessThan(200);

      // Enqueued by an API-only instance on the same database: nothing wakes this worker, its poll must find it.
      const api = await startTestApp({
        database: t.database,
        features: [TestJobsModule],
        env: { JUNCTION_ROLES: 'api' },
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const foreign = await api.app.get(JobsService).enqueue('test.echo', { via: 'poll' });
        expect(await startedAfter(foreign.id)).toBeLessThan(1300);
      } finally {
        await api.close();
      }
    } finally {
      await t.close();
    }
  });
});
