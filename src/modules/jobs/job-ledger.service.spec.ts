import { startServiceModule } from '../../../test/support/service-module.js';
import type { ServiceModule } from '../../../test/support/service-module.js';
import { TestJobsModule } from '../../../test/support/test-jobs.module.js';
import { newId } from '../../common/ids.js';
import { describeFailure, JobFailure } from './job-failure.js';
import { JobLedger } from './job-ledger.service.js';
import type { AttemptResult } from './job-ledger.service.js';
import type { Job } from './job.entity.js';
import type { JobLogLine } from './job-run.store.js';
import { JobsModule } from './jobs.module.js';
import { JobsService } from './jobs.service.js';

/**
 * The ledger and JobsService against a real SQLite database, with no worker running (api role
 * only): the spec claims jobs and records their outcomes itself.
 */
describe('JobLedger', () => {
  let service: ServiceModule;
  let ledger: JobLedger;
  let jobs: JobsService;

  beforeAll(async () => {
    service = await startServiceModule(
      (config) => ({ imports: [JobsModule.forRoot(config), TestJobsModule] }),
      { JUNCTION_ROLES: 'api' },
    );
    ledger = service.module.get(JobLedger);
    jobs = service.module.get(JobsService);
  });
  afterAll(() => service.close());

  /** Claims this one job, as a worker would when Bull delivers it. */
  async function claim(id: string): Promise<Job> {
    const claimed = await ledger.claimOne(id, false);
    if ('kind' in claimed) throw new Error(`job ${id} was not claimed: ${claimed.kind}`);
    return claimed;
  }

  const temporary: AttemptResult = {
    kind: 'failed',
    failure: describeFailure(Object.assign(new Error('partner down'), { code: 'TEMPORARY' })),
  };

  it('schedules a retry at a later runAt when an attempt fails with a temporary error and attempts are left', async () => {
    const dueAt = new Date(Date.now() - 60_000);
    const job = await jobs.enqueue('test.always-fails', null, { runAt: dueAt });
    const running = await claim(job.id);
    const before = Date.now();

    const recorded = await ledger.record(running, temporary);

    expect(recorded).toEqual({
      recorded: true,
      status: 'failed',
      retry: { id: job.id, attempt: 1, queue: 'default', priority: 0, runAt: expect.any(Date), keyed: false },
    });
    expect(recorded.retry!.runAt.getTime()).toBeGreaterThanOrEqual(before);
    const { job: after, attempts } = await jobs.get(job.id);
    expect(after).toMatchObject({
      status: 'failed',
      attempt: 1,
      finishedAt: null,
      leaseOwner: null,
      lastError: { code: 'TEMPORARY', message: 'partner down' },
    });
    expect(after.runAt.getTime()).toBe(recorded.retry!.runAt.getTime());
    expect(after.runAt.getTime()).toBeGreaterThan(dueAt.getTime());
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'failed', errorCode: 'TEMPORARY' }),
    ]);
  });

  it('makes the job dead when its last attempt fails with a temporary error', async () => {
    const job = await jobs.enqueue('test.always-fails', null, { maxAttempts: 1 });
    const running = await claim(job.id);

    const recorded = await ledger.record(running, temporary);

    expect(recorded).toEqual({ recorded: true, status: 'dead', retry: null });
    const { job: after } = await jobs.get(job.id);
    expect(after).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'TEMPORARY' } });
    expect(after.finishedAt).toBeInstanceOf(Date);
    expect(after.runAt.getTime()).toBe(job.runAt.getTime());
  });

  it('makes the job dead at once when the failure code is permanent, though attempts are left', async () => {
    const job = await jobs.enqueue('test.permanent', null);
    const running = await claim(job.id);

    const recorded = await ledger.record(running, {
      kind: 'failed',
      failure: describeFailure(JobFailure.permanent('the partner refused this order')),
    });

    expect(recorded).toEqual({ recorded: true, status: 'dead', retry: null });
    const { job: after } = await jobs.get(job.id);
    expect(after).toMatchObject({
      status: 'dead',
      attempt: 1,
      maxAttempts: 5,
      lastError: { code: 'PERMANENT' },
    });
  });

  it('defers a job on its last attempt without spending it: queued again, one more attempt allowed, the attempt deferred', async () => {
    const job = await jobs.enqueue('test.always-fails', null, { maxAttempts: 1 });
    const running = await claim(job.id);
    const before = Date.now();

    const recorded = await ledger.record(running, {
      kind: 'failed',
      failure: describeFailure(JobFailure.deferred('the rate budget is spent', 0)),
    });

    expect(recorded).toMatchObject({ recorded: true, status: 'queued', retry: { id: job.id, attempt: 1 } });
    const { job: after, attempts } = await jobs.get(job.id);
    expect(after).toMatchObject({
      status: 'queued',
      attempt: 1,
      maxAttempts: 2,
      finishedAt: null,
      leaseOwner: null,
      lastError: null,
    });
    expect(after.runAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(after.runAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'deferred',
        errorCode: 'DEFERRED',
        errorMessage: 'the rate budget is spent',
        errorStack: null,
      }),
    ]);

    // The next attempt is numbered 2, and the job still has its one failure to spend.
    const again = await claim(job.id);
    expect(again).toMatchObject({ attempt: 2, maxAttempts: 2 });
    expect(await ledger.record(again, temporary)).toEqual({ recorded: true, status: 'dead', retry: null });
  });

  it('does not record a result when the job was cancelled after it was claimed', async () => {
    const job = await jobs.enqueue('test.echo', 'cancelled while running');
    const running = await claim(job.id);
    await jobs.cancel(job.id);

    const succeeded = await ledger.record(running, { kind: 'succeeded', result: '"too late"' });
    const failed = await ledger.record(running, temporary);

    expect(succeeded).toEqual({ recorded: false, status: null, retry: null });
    expect(failed).toEqual({ recorded: false, status: null, retry: null });
    const { job: after, attempts } = await jobs.get(job.id);
    expect(after).toMatchObject({ status: 'cancelled', result: null, lastError: null });
    expect(attempts).toEqual([expect.objectContaining({ outcome: 'cancelled', errorCode: 'CANCELLED' })]);
  });

  it('cancels a queued job at once, so no worker can claim it', async () => {
    const job = await jobs.enqueue('test.echo', 'never runs');

    const cancelled = await jobs.cancel(job.id);

    expect(cancelled).toMatchObject({ status: 'cancelled', attempt: 0 });
    expect(cancelled.finishedAt).toBeInstanceOf(Date);
    expect(await ledger.claimOne(job.id, false)).toEqual({ kind: 'gone' });
  });

  it('queues a dead job to run now with one more attempt when it is retried', async () => {
    const job = await jobs.enqueue('test.always-fails', null, { maxAttempts: 1 });
    await ledger.record(await claim(job.id), temporary);

    const retried = await jobs.retry(job.id);

    expect(retried).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 2, finishedAt: null });
    expect(await claim(job.id)).toMatchObject({ status: 'running', attempt: 2 });
  });

  /** A log line of this attempt, as the executor keeps it until the outcome. */
  function line(job: Job, message: string): JobLogLine {
    return { id: newId(), jobId: job.id, attempt: job.attempt, message, at: new Date() };
  }

  it('writes log lines with the outcomes they arrive with, successes and failures in one group', async () => {
    const [a, b, c] = await jobs.enqueueMany([
      { type: 'test.echo', payload: 'a' },
      { type: 'test.echo', payload: 'b' },
      { type: 'test.always-fails', payload: null },
    ]);
    const [ra, rb, rc] = [await claim(a.id), await claim(b.id), await claim(c.id)];

    await Promise.all([
      ledger.record(ra, { kind: 'succeeded', result: '"a"' }, [line(ra, 'a one'), line(ra, 'a two')]),
      ledger.record(rb, { kind: 'succeeded', result: '"b"' }, [line(rb, 'b one')]),
      ledger.record(rc, temporary, [line(rc, 'c one')]),
    ]);

    const logsOf = async (id: string) => (await jobs.get(id)).logs.map((l) => [l.attempt, l.message]);
    expect(await logsOf(a.id)).toEqual([
      [1, 'a one'],
      [1, 'a two'],
    ]);
    expect(await logsOf(b.id)).toEqual([[1, 'b one']]);
    expect(await logsOf(c.id)).toEqual([[1, 'c one']]);
    expect((await jobs.get(a.id)).job.status).toBe('succeeded');
  });

  it('writes the log lines of an attempt whose outcome is not recorded, since the job was cancelled', async () => {
    const job = await jobs.enqueue('test.echo', 'cancelled while logging');
    const running = await claim(job.id);
    await jobs.cancel(job.id);

    const recorded = await ledger.record(running, { kind: 'succeeded', result: '"too late"' }, [
      line(running, 'called the partner'),
    ]);

    expect(recorded.recorded).toBe(false);
    expect((await jobs.get(job.id)).logs.map((l) => l.message)).toEqual(['called the partner']);
  });

  it('hands back a claimed job that never started as if it had not been claimed', async () => {
    const job = await jobs.enqueue('test.echo', 'claimed ahead');
    const running = await claim(job.id);

    const back = await ledger.unclaim([running]);

    expect(back).toEqual([expect.objectContaining({ id: job.id, attempt: 0 })]);
    const { job: after, attempts } = await jobs.get(job.id);
    expect(after).toMatchObject({ status: 'queued', attempt: 0, startedAt: null, leaseOwner: null });
    expect(attempts).toEqual([]);
    expect(await claim(job.id)).toMatchObject({ status: 'running', attempt: 1 });
  });
});
