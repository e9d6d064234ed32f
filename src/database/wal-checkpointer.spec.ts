import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { waitFor } from '../../test/support/wait-for.js';
import { startCheckpointThread } from './wal-checkpointer.js';
import type { CheckpointThread } from './wal-checkpointer.js';

const ROW = 'x'.repeat(8_000);

describe('the checkpoint thread', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;
  let thread: CheckpointThread | undefined;
  const failures: string[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-checkpoints-'));
    file = path.join(dir, 'junction.sqlite');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // The writer never checkpoints by itself: whatever reaches the database file, the thread copied.
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE item (body TEXT)');
    failures.length = 0;
  });
  afterEach(async () => {
    await thread?.stop();
    thread = undefined;
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (rows: number) => {
    const insert = db.prepare('INSERT INTO item (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(ROW);
    })();
  };
  const sizeOf = (name: string) => fs.statSync(name).size;

  it('copies the log into the database file while the writer goes on writing', async () => {
    write(125); // 1 MB
    expect(sizeOf(file)).toBeLessThan(100_000);

    thread = startCheckpointThread(file, { intervalMs: 10, onFailure: (message) => failures.push(message) });

    await waitFor(
      () => Promise.resolve(sizeOf(file)),
      (size) => size > 1_000_000,
    );
    expect(failures).toEqual([]);
  });

  it('keeps the log from growing: once every frame is copied, the writer starts it over', async () => {
    thread = startCheckpointThread(file, { intervalMs: 10, onFailure: (message) => failures.push(message) });
    // 16 MB in 64 transactions with pauses between, as a busy process writes.
    for (let i = 0; i < 64; i++) {
      write(32);
      await sleep(25);
    }

    expect(sizeOf(file)).toBeGreaterThan(15_000_000);
    expect(sizeOf(`${file}-wal`)).toBeLessThan(4_000_000);
    expect(failures).toEqual([]);
  });

  it('closes its connection when stopped, so the last one to close removes the log', async () => {
    thread = startCheckpointThread(file, { intervalMs: 10, onFailure: (message) => failures.push(message) });
    write(10);
    await waitFor(
      () => Promise.resolve(sizeOf(file)),
      (size) => size > 80_000,
    );

    await thread.stop();
    await thread.stop();
    db.close();

    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('reports a database it cannot open, and stops without waiting', async () => {
    thread = startCheckpointThread(path.join(dir, 'missing.sqlite'), {
      intervalMs: 10,
      onFailure: (message) => failures.push(message),
    });

    await waitFor(
      () => Promise.resolve(failures.length),
      (n) => n > 0,
    );
    expect(failures[0]).toMatch(/unable to open database file/);
    await thread.stop();
  });
});
