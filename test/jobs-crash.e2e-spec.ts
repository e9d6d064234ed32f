import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { JobsService } from '../src/modules/jobs/jobs.service.js';
import { CRASH_JOB, CrashWorkModule } from './fixtures/crash-worker.js';
import { startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

/** Built by `npm test`'s build step. */
const WORKER = path.resolve('dist/test/fixtures/crash-worker.js');
const JOBS = 200;
const transport = process.env.REDIS_URL ? 'Bull on Redis' : 'the embedded queue';

function startWorker(env: Record<string, string>): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [WORKER], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, exited };
}

describe(`a worker killed with SIGKILL in the middle of ${JOBS} jobs (${transport})`, () => {
  it('loses none: after a restart every job succeeds, and a job run twice shows a second attempt', async () => {
    const database = await TestDatabase.create();
    const runLog = path.join(database.dataDir, 'runs.log');
    // This process only enqueues and reads; the workers are separate processes.
    const workers: ChildProcess[] = [];
    const api = await startTestApp({ database, features: [CrashWorkModule], env: { JUNCTION_ROLES: 'api' } });
    try {
      const dataSource = api.app.get(DataSource);
      const count = async (status: string) => {
        const [row] = await dataSource.query<{ n: string }[]>(
          `SELECT count(*) AS n FROM job WHERE status = '${status}'`,
        );
        return Number(row.n);
      };
      await api.app
        .get(JobsService)
        .enqueueMany(Array.from({ length: JOBS }, (_, n) => ({ type: CRASH_JOB, payload: { n } })));
      const env = {
        ...database.env({ JUNCTION_ROLES: 'worker', JUNCTION_JOB_LEASE_MS: '2000', CRASH_RUN_LOG: runLog }),
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
      };

      const first = startWorker(env);
      workers.push(first.child);
      await waitFor(
        () => count('succeeded'),
        (n) => n >= 40,
        30_000,
        10,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      const runningAtKill = await count('running');
      expect(runningAtKill).toBeGreaterThan(0);
      expect(await count('succeeded')).toBeLessThan(JOBS);

      const second = startWorker(env);
      workers.push(second.child);
      await waitFor(
        () => count('succeeded'),
        (n) => n === JOBS,
        60_000,
        100,
      );
      second.child.kill('SIGTERM');
      await second.exited;

      const attempts = await dataSource.query<
        { job_id: string; attempt: number; outcome: string; error_code: string | null }[]
      >(`SELECT job_id, attempt, outcome, error_code FROM job_attempt ORDER BY job_id, attempt`);
      const attemptsByJob = new Map<string, typeof attempts>();
      for (const row of attempts)
        attemptsByJob.set(row.job_id, [...(attemptsByJob.get(row.job_id) ?? []), row]);
      const runsByJob = new Map<string, number[]>();
      for (const line of fs.readFileSync(runLog, 'utf8').trim().split('\n')) {
        const [id, attempt] = line.split(' ');
        runsByJob.set(id, [...(runsByJob.get(id) ?? []), Number(attempt)]);
      }

      expect(attemptsByJob.size).toBe(JOBS);
      for (const [id, runs] of runsByJob) {
        const recorded = attemptsByJob.get(id)!.map((a) => Number(a.attempt));
        // Every run the handler started is an attempt in the ledger.
        for (const attempt of runs) expect(recorded).toContain(attempt);
        expect(runs.length).toBeLessThanOrEqual(recorded.length);
      }
      const repeated = [...attemptsByJob.values()].filter((list) => list.length > 1);
      expect(repeated.length).toBeGreaterThanOrEqual(runningAtKill);
      for (const list of repeated) {
        expect(list[0]).toMatchObject({ outcome: 'failed', error_code: 'LEASE_EXPIRED' });
        expect(list[list.length - 1].outcome).toBe('succeeded');
      }
    } finally {
      for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
      await api.close();
      await database.drop();
    }
  }, 120_000);
});
