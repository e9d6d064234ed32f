/**
 * SQLite write serializer: small write transactions per second through `WriteSerializer` (TypeORM,
 * queued one after another), beside raw better-sqlite3 transactions on a file of the same setup
 * in the same run. Conditions: one process, WAL, synchronous=NORMAL, a temporary file, each
 * transaction inserting one account row, issued 500 at a time concurrently.
 *
 *   npm run bench:serializer
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { openRawSqlite } from './raw-sqlite.js';
import { newId } from '../src/common/ids.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { WriteSerializer } from '../src/database/write-serializer.js';
import { Account } from '../src/modules/accounts/account.entity.js';
import { ApiKey } from '../src/modules/accounts/api-key.entity.js';

const TOTAL = 20_000;
const CONCURRENCY = 500;

function row(i: number) {
  const now = new Date();
  return {
    id: newId(),
    name: `bench ${i}`,
    email: `bench${i}@example.com`,
    role: 'viewer' as const,
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
}

async function throughSerializer(dir: string): Promise<number> {
  const dataSource = new DataSource({
    ...dataSourceOptions({ kind: 'sqlite', path: path.join(dir, 'serializer.sqlite') }),
    entities: [Account, ApiKey],
  });
  await dataSource.initialize();
  await dataSource.runMigrations();
  const serializer = new WriteSerializer(dataSource);
  const started = process.hrtime.bigint();
  for (let done = 0; done < TOTAL; done += CONCURRENCY) {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        serializer.transaction((manager) => manager.insert(Account, row(done + i))),
      ),
    );
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await dataSource.destroy();
  return TOTAL / seconds;
}

async function rawBetterSqlite(dir: string): Promise<number> {
  // Same schema and pragmas, through the driver directly: the ceiling for one transaction per row.
  const file = path.join(dir, 'raw.sqlite');
  const db = await openRawSqlite(file);
  const insert = db.prepare(
    'INSERT INTO "account" ("id","name","email","role","disabled","created_at","updated_at") VALUES (?,?,?,?,?,?,?)',
  );
  const tx = db.transaction((r: ReturnType<typeof row>) =>
    insert.run(r.id, r.name, r.email, r.role, 0, r.createdAt.toISOString(), r.updatedAt.toISOString()),
  );
  const started = process.hrtime.bigint();
  for (let i = 0; i < TOTAL; i++) tx(row(i));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  return TOTAL / seconds;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-'));
  try {
    const raw = await rawBetterSqlite(dir);
    const serialized = await throughSerializer(dir);
    console.log(
      `sqlite write serializer: ${Math.round(serialized)} tx/s ` +
        `(raw better-sqlite3 transactions: ${Math.round(raw)} tx/s, ratio ${(serialized / raw).toFixed(2)}; ` +
        `${TOTAL} one-row transactions, ${CONCURRENCY} concurrent, WAL, synchronous=NORMAL, ${os.cpus().length} cores)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
