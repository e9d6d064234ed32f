import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The worker's whole program (CommonJS, run with `eval`): its own connection to the database
 * file, which copies the write-ahead log into the database every `intervalMs` with a PASSIVE
 * checkpoint. A passive checkpoint never waits on a lock and never stops a writer; the main
 * connection restarts the log from its start at its next write once every frame is copied.
 */
const WORKER_PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// SQLite's errors lose their message when they cross to the main thread, so it is sent as text.
const text = (error) => String(error && error.message ? error.message : error);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
} catch (error) {
  parentPort.postMessage({ failed: text(error) });
  process.exit(1);
}
let failure;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failure = undefined;
  } catch (error) {
    if (text(error) !== failure) parentPort.postMessage({ failed: text(error) });
    failure = text(error);
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointThreadOptions {
  /** How often the thread checkpoints. */
  intervalMs: number;
  /** Told of a checkpoint that failed (once per distinct message, until one succeeds). */
  onFailure: (message: string) => void;
}

export interface CheckpointThread {
  /** Closes the thread's connection and waits for the thread to end. */
  stop(): Promise<void>;
}

/** Starts a thread that checkpoints the database in `file` (which must exist) every `intervalMs`. */
export function startCheckpointThread(
  file: string,
  { intervalMs, onFailure }: CheckpointThreadOptions,
): CheckpointThread {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_PROGRAM, { eval: true, workerData: { file, driver, intervalMs } });
  worker.on('message', (message: { failed: string }) => onFailure(message.failed));
  worker.on('error', (error) => onFailure(String(error)));
  // Never the reason a process stays up: stop() is for a clean close, not a requirement.
  worker.unref();
  return {
    async stop() {
      if (worker.threadId === -1) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref(); // so the process waits for the exit it awaits
      worker.postMessage('stop');
      await exited;
    },
  };
}

/** Pages in the log at which the main connection checkpoints by itself, should the thread fall behind. */
export const BACKSTOP_PAGES = 10_000;
const INTERVAL_MS = 100;

/**
 * Checkpoints an SQLite file's write-ahead log from a worker thread, so that copying the log into
 * the database file, and the fsync after it, happen beside the event loop instead of inside
 * whichever COMMIT crossed SQLite's threshold of 1,000 pages, which stalled every job for the
 * length of the copy. The main connection still checkpoints by itself past {@link BACKSTOP_PAGES}
 * (40 MB of log), so the log stays bounded if the thread falls behind or fails.
 */
@Injectable()
export class WalCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WalCheckpointer.name);
  private thread?: CheckpointThread;

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    const { options } = this.dataSource;
    if (options.type !== 'better-sqlite3' || options.database === ':memory:') return;
    await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.thread = startCheckpointThread(path.resolve(options.database), {
      intervalMs: INTERVAL_MS,
      onFailure: (message) => this.logger.warn(`checkpointing the SQLite log failed: ${message}`),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.thread?.stop();
    this.thread = undefined;
  }
}
