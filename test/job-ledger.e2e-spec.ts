import { DataSource } from 'typeorm';
import { JobLedger } from '../src/modules/jobs/job-ledger.service.js';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestJobsModule } from './support/test-jobs.module.js';

/**
 * The ledger's guarded statements, driven directly with no worker running (api role only), so the
 * spec decides who holds which job.
 */
describe('job ledger', () => {
  let t: TestApp;
  let ledger: JobLedger;
  let jobs: JobsService;
  let dataSource: DataSource;

  beforeAll(async () => {
    t = await startTestApp({ features: [TestJobsModule], env: { JUNCTION_ROLES: 'api' } });
    ledger = t.app.get(JobLedger);
    jobs = t.app.get(JobsService);
    dataSource = t.app.get(DataSource);
  });
  afterAll(() => t.close());
  afterEach(() => dataSource.query(`DELETE FROM job`));

  it('claims due jobs of one queue in priority order, then creation order, skipping jobs not yet due', async () => {
    const [low, high, later, other] = await jobs.enqueueMany([
      { type: 'test.echo', payload: 'low', options: { priority: 1 } },
      { type: 'test.echo', payload: 'high', options: { priority: 9 } },
      { type: 'test.echo', payload: 'later', options: { priority: 99, delayMs: 60_000 } },
      { type: 'test.blocking', payload: { gate: 'other queue' } },
    ]);
    const claimed = await ledger.claimBatch('default', 10);
    expect(claimed.map((j) => j.id)).toEqual([high.id, low.id]);
    expect(claimed[0]).toMatchObject({ status: 'running', attempt: 1, leaseOwner: ledger.workerId });
    expect(await ledger.claimBatch('default', 10)).toEqual([]);
    expect([later.id, other.id]).not.toContain(claimed[1].id);
  });

  it('never claims more running jobs of one concurrency key than its limit, even within one batch', async () => {
    await jobs.enqueueMany(
      Array.from({ length: 5 }, (_, i) => ({
        type: 'test.keyed',
        payload: i,
        options: { concurrencyKey: 'acct:1' },
      })),
    );
    await jobs.enqueue('test.keyed', 'free', { concurrencyKey: 'acct:2' });
    const first = await ledger.claimBatch('keyed', 10);
    expect(first.map((j) => j.concurrencyKey).sort()).toEqual(['acct:1', 'acct:1', 'acct:2']);
    expect(await ledger.claimBatch('keyed', 10)).toEqual([]);
    await ledger.record(first[0], { kind: 'succeeded', result: 'null' });
    const next = await ledger.claimBatch('keyed', 10);
    expect(next.map((j) => j.concurrencyKey)).toEqual(['acct:1']);
  });

  it('does not record a result after the lease passed to another worker', async () => {
    await jobs.enqueue('test.echo', 'contested');
    const [job] = await ledger.claimBatch('default', 1);
    // The lease expired and another worker claimed the job meanwhile.
    await dataSource.query(`UPDATE job SET lease_owner = 'someone-else', attempt = 2 WHERE id = '${job.id}'`);
    const recorded = await ledger.record(job, { kind: 'succeeded', result: '"late"' });
    expect(recorded).toEqual({ recorded: false, status: null, retry: null });
    const after = await jobs.get(job.id);
    expect(after.job).toMatchObject({ status: 'running', result: null, leaseOwner: 'someone-else' });
    expect(await ledger.saveStep(job, 'late-step', null)).toBe(false);
  });

  it('puts back a job whose lease expired, counting the attempt, and kills it on its last attempt', async () => {
    const [retried, last] = await jobs.enqueueMany([
      { type: 'test.echo', payload: 'retried' },
      { type: 'test.echo', payload: 'last', options: { maxAttempts: 1 } },
    ]);
    await ledger.claimBatch('default', 2);
    await dataSource.query(`UPDATE job SET lease_expires_at = created_at`);
    const requeued = await ledger.expireLeases();
    expect(requeued.map((d) => d.id)).toEqual([retried.id]);
    const [again, dead] = await Promise.all([jobs.get(retried.id), jobs.get(last.id)]);
    expect(again.job).toMatchObject({ status: 'queued', attempt: 1, lastError: { code: 'LEASE_EXPIRED' } });
    expect(again.attempts).toEqual([
      expect.objectContaining({ outcome: 'failed', errorCode: 'LEASE_EXPIRED' }),
    ]);
    expect(dead.job.status).toBe('dead');
    const [reclaimed] = await ledger.claimBatch('default', 1);
    expect(reclaimed).toMatchObject({ id: retried.id, attempt: 2 });
  });
});
