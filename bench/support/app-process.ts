/**
 * What the HTTP benchmarks share: the app booted in a child process of its own (so autocannon in
 * the parent does not share its event loop), with a no-op job type for routes to start, and
 * autocannon as a promise.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import autocannon from 'autocannon';
import type { Instance, Options, Result } from 'autocannon';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { JobHandler } from '../../src/modules/jobs/jobs.contract.js';

export const ADMIN_KEY = 'jk_bench-admin-key-0123456789abcdefghijklmnop';
const SECRET_KEY = '22'.repeat(32);
/** A job type that does nothing, for the benchmarks' routes. */
export const NOOP_JOB_TYPE = 'bench.noop';

@Injectable()
class BenchHandlers {
  @JobHandler(NOOP_JOB_TYPE)
  noop(): Promise<void> {
    return Promise.resolve();
  }
}

@Module({ providers: [BenchHandlers] })
class BenchModule {}

/** The child: boots the app on SQLite in `dir`, listens on a free port and tells the parent which. */
export async function serveApp(dir: string, roles: string): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dir, 'junction.sqlite')}`,
    JUNCTION_SECRET_KEY: SECRET_KEY,
    JUNCTION_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    JUNCTION_ROLES: roles,
  });
  const app = await createApp(config, [BenchModule]);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.send!({ port: address.port });
  process.on('message', (message) => {
    if (message === 'stop') void app.close().then(() => process.exit(0));
  });
}

/**
 * The parent: forks `script` (a benchmark whose `serve` argument calls `serveApp`) and answers the
 * app's base URL and a stop. `BENCH_CHILD_ARGS` passes Node flags to the child (`--cpu-prof`).
 */
export async function startAppProcess(
  script: string,
  dir: string,
  roles: string,
): Promise<{ base: string; stop: () => Promise<void> }> {
  const child = fork(script, ['serve', dir, roles], {
    execArgv: process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = async () => {
    if (!child.connected) return;
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message) => resolve((message as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`the app exited with ${code} before listening`)));
    });
    return { base: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function autocannonRun(options: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance: Instance = autocannon(options, (error, result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result),
    );
    instance.on('error', reject);
  });
}

/** The round with the median rate, and every round's rate (per second over `seconds`), lowest first. */
export function medianRound(results: Result[], seconds: number): { median: Result; perSecond: number[] } {
  const sorted = [...results].sort((a, b) => a['2xx'] - b['2xx']);
  return { median: sorted[Math.floor(sorted.length / 2)], perSecond: sorted.map((r) => r['2xx'] / seconds) };
}
