import * as fs from 'node:fs';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { newId } from '../src/common/ids.js';
import { MIGRATIONS } from '../src/database/migrations/index.js';
import { BACKSTOP_PAGES } from '../src/database/wal-checkpointer.js';
import { WriteSerializer } from '../src/database/write-serializer.js';
import { Account } from '../src/modules/accounts/account.entity.js';
import { startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

describe('database', () => {
  let t: TestApp;
  let dataSource: DataSource;
  let serializer: WriteSerializer;

  beforeAll(async () => {
    // No background roles: their own transactions would mix into the unserialized ones below.
    t = await startTestApp({ env: { JUNCTION_ROLES: 'api' } });
    dataSource = t.app.get(DataSource);
    serializer = t.app.get(WriteSerializer);
  });
  afterAll(() => t.close());

  const countAccounts = () => dataSource.getRepository(Account).count();

  /** A transaction that yields between its statements, so concurrent ones would interleave. */
  async function insertAccount(manager: EntityManager, label: string): Promise<void> {
    const now = new Date();
    await manager.insert(Account, {
      id: newId(),
      name: label,
      email: `${label}@example.com`,
      role: 'viewer',
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    await new Promise((resolve) => setImmediate(resolve));
    await manager.count(Account);
  }

  it('commits 500 concurrent write transactions', async () => {
    const before = await countAccounts();
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) =>
        serializer.transaction((manager) => insertAccount(manager, `tx${i}`)),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await countAccounts()).toBe(before + 500);
  });

  it('needs the serializer on SQLite: unserialized concurrent transactions fail there', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        dataSource.transaction((manager) => insertAccount(manager, `raw${i}`)),
      ),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (t.database.kind === 'sqlite') {
      expect(failures.length).toBeGreaterThan(0);
      // One connection, many BEGINs: "cannot start a transaction within a transaction" or a commit without one.
      expect(failures.map((f) => String(f.reason))).toEqual(
        expect.arrayContaining([expect.stringMatching(/transaction/i)]),
      );
    } else {
      expect(failures).toEqual([]);
    }
  });

  it('rolls back a failed transaction and keeps serving the next ones', async () => {
    const before = await countAccounts();
    const failed = serializer.transaction(async (manager) => {
      await insertAccount(manager, 'doomed');
      throw new Error('handler failed');
    });
    const next = serializer.transaction((manager) => insertAccount(manager, 'after-doomed'));
    await expect(failed).rejects.toThrow('handler failed');
    await next;
    expect(await countAccounts()).toBe(before + 1);
    expect(await dataSource.getRepository(Account).existsBy({ email: 'doomed@example.com' })).toBe(false);
  });

  it('joins a transaction started inside another instead of waiting for it', async () => {
    const nested = await serializer.transaction((outer) =>
      serializer.transaction(async (inner) => {
        await insertAccount(inner, 'nested');
        return inner === outer;
      }),
    );
    expect(nested).toBe(true);
  });

  it('still joins and defers commit hooks after its scope was switched off between transactions', async () => {
    // Each transaction ends with no other open, which switches the scope's tracking off.
    for (let round = 0; round < 3; round++) {
      const order: string[] = [];
      const joined = await serializer.transaction(async (outer) => {
        await new Promise((resolve) => setImmediate(resolve));
        return serializer.transaction((inner) => {
          serializer.afterCommit(undefined, () => order.push('hook'));
          order.push('work');
          return Promise.resolve(inner === outer);
        });
      });
      expect({ round, joined, order }).toEqual({ round, joined: true, order: ['work', 'hook'] });
    }
  });

  it('runs SQLite with WAL, a busy timeout and foreign keys on', async () => {
    if (t.database.kind !== 'sqlite') return;
    const [{ journal_mode }] = await dataSource.query('PRAGMA journal_mode');
    const [{ foreign_keys }] = await dataSource.query('PRAGMA foreign_keys');
    const [{ timeout }] = await dataSource.query('PRAGMA busy_timeout');
    expect({ journal_mode, foreign_keys, timeout }).toEqual({
      journal_mode: 'wal',
      foreign_keys: 1,
      timeout: 5000,
    });
  });

  it('copies the SQLite log into the database file from a thread, not inside a COMMIT', async () => {
    if (t.database.kind !== 'sqlite') return;
    const file = dataSource.options.database as string;
    const [{ wal_autocheckpoint }] = await dataSource.query('PRAGMA wal_autocheckpoint');
    expect(wal_autocheckpoint).toBe(BACKSTOP_PAGES);
    await dataSource.query('CREATE TABLE checkpoint_probe (body TEXT)');
    try {
      const before = fs.statSync(file).size;
      // 2 MB: far below the 40 MB at which this connection would checkpoint by itself.
      for (let i = 0; i < 250; i++)
        await dataSource.query('INSERT INTO checkpoint_probe VALUES (?)', ['x'.repeat(8000)]);

      await waitFor(
        () => Promise.resolve(fs.statSync(file).size - before),
        (grown) => grown > 2_000_000,
      );
    } finally {
      await dataSource.query('DROP TABLE checkpoint_probe');
    }
  });

  it('has run every migration at boot, and each one reverts and re-applies', async () => {
    const applied = await dataSource.query('SELECT "name" FROM "migrations" ORDER BY "id"');
    expect(applied.map((m: { name: string }) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));

    const scratch = new DataSource({ ...dataSource.options, entities: [] });
    await scratch.initialize();
    try {
      await scratch.query('DELETE FROM "api_key"');
      await scratch.query('DELETE FROM "account"');
      for (let i = 0; i < MIGRATIONS.length; i++) await scratch.undoLastMigration({ transaction: 'each' });
      expect(await scratch.createQueryRunner().hasTable('account')).toBe(false);
      await scratch.runMigrations({ transaction: 'each' });
      expect(await scratch.createQueryRunner().hasTable('account')).toBe(true);
    } finally {
      await scratch.destroy();
    }
  });
});
