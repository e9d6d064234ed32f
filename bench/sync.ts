/**
 * Syncs through the whole engine: records per second that a sync stores from the local fake
 * network (test/fakes/network.ts, in a process of its own: 100,000 photos in pages of 500, read
 * through the http provider's declarative stream), from the sync's start to its run's end.
 * Then a re-sync of the same, unchanged data (a restart: a full sync that reads every page again
 * and stores nothing new). Beside them, in the same run, the baseline: raw better-sqlite3 inserts
 * of the same rows into the record table of the same SQLite file (a connection of its own, made
 * before Junction's sync, so Junction's rows go into the larger table), with the app's pragmas, in
 * transactions of one page (500 rows, multi-row INSERTs of 250).
 *
 * Conditions: SQLite with the embedded queue, one connection with a rate limit far above the
 * rate reached, the app booted without HTTP.
 *
 *   npm run bench:sync
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { FakeNetwork } from '../test/fakes/network.js';
import { AppModule } from '../src/app.module.js';
import { newId } from '../src/common/ids.js';
import { stableJson } from '../src/common/stable-json.js';
import { loadConfig } from '../src/config/load-config.js';
import { ConnectionsService } from '../src/modules/providers/connections.service.js';
import { SyncsService } from '../src/modules/syncs/syncs.service.js';
import type { SyncRun } from '../src/modules/syncs/sync.store.js';
import { openSqliteAsTheAppDoes } from './raw-sqlite.js';
import { servePeerOrRun, startPeerProcess } from './support/baseline.js';

const TOTAL = 100_000;
const PAGE = 500;
const INSERT_ROWS = 250;
const TOKEN = 'bench-network-token-0123456789';
/** When the fake network says its photos were taken, unless told otherwise. */
const TAKEN_AT = '2025-06-01T12:00:00.000Z';

async function serveNetwork(): Promise<void> {
  const network = await FakeNetwork.start(TOKEN, PAGE);
  for (let n = 1; n <= TOTAL; n++) network.put(`p-${n}`, `Photo ${n}`, n);
  process.on('message', () => process.send!(network.requests.length));
  process.send!({ url: network.url });
}

/** Raw better-sqlite3: the same rows (as the network serves them) into the app's record table, a page per transaction. */
function raw(file: string): number {
  const db = openSqliteAsTheAppDoes(file);
  try {
    const connectionId = newId();
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    db.prepare(
      `INSERT INTO account (id, name, email, role, disabled, created_at, updated_at) VALUES (?, 'raw', 'raw@x', 'viewer', 0, ?, ?)`,
    ).run(connectionId, now, now);
    db.prepare(
      `INSERT INTO connection (id, account_id, provider, name, config, credential_type, state, created_at, updated_at)
       VALUES (?, ?, 'http', 'c', '{}', 'none', 'active', ?, ?)`,
    ).run(connectionId, connectionId, now, now);
    const insert = db.prepare(
      `INSERT INTO record (id, connection_id, type, external_id, hash, data, title, filename, thumbnail_url, size,
         first_seen_at, last_modified_at, last_action, deleted_at)
       VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, NULL)').join(', ')}`,
    );
    const started = performance.now();
    for (let page = 0; page < TOTAL / PAGE; page++) {
      db.transaction(() => {
        for (let part = 0; part < PAGE / INSERT_ROWS; part++) {
          const params: unknown[] = [];
          for (let i = 0; i < INSERT_ROWS; i++) {
            const n = page * PAGE + part * INSERT_ROWS + i + 1;
            const data = {
              id: `p-${n}`,
              title: `Photo ${n}`,
              size: n,
              takenAt: TAKEN_AT,
              contentUrl: `/photos/p-${n}/content`,
              updatedAt: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
            };
            const json = JSON.stringify(data);
            params.push(
              newId(),
              connectionId,
              'photos',
              data.id,
              createHash('sha256').update(stableJson(data)).digest('hex'),
            );
            params.push(json, data.title, data.size, now, now, 'added');
          }
          insert.run(...params);
        }
      })();
    }
    return TOTAL / ((performance.now() - started) / 1000);
  } finally {
    db.close();
  }
}

async function measure(url: string): Promise<{ first: SyncRun; again: SyncRun; rawPerSecond: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-sync-'));
  const file = path.join(dir, 'junction.sqlite');
  const config = loadConfig({
    DATABASE_URL: `sqlite:${file}`,
    JUNCTION_SECRET_KEY: '44'.repeat(32),
    JUNCTION_ADMIN_KEY: 'jk_bench-admin-key-0123456789abcdefghijklmnop',
    LOG_LEVEL: 'warn',
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    const dataSource = app.get(DataSource);
    const [{ id: accountId }] = await dataSource.query<{ id: string }[]>(`SELECT id FROM account LIMIT 1`);
    const caller = { accountId, role: 'admin' as const, apiKeyId: 'bench' };
    const { connection } = await app.get(ConnectionsService).create(caller, {
      provider: 'http',
      name: 'bench network',
      config: {
        baseUrl: url,
        rateLimit: { requests: 1_000_000, perMs: 1000 },
        streams: {
          photos: {
            path: '/photos',
            items: 'data',
            id: 'id',
            cursor: 'updatedAt',
            cursorParam: 'updated_since',
            nextPage: { from: 'next', param: 'page' },
            title: 'title',
            size: 'size',
          },
        },
      },
      credentials: { type: 'bearer', token: TOKEN },
    });
    const rawPerSecond = raw(file);
    const syncs = app.get(SyncsService);
    const finished = async (syncId: string): Promise<SyncRun> => {
      for (;;) {
        const view = await syncs.get(caller, syncId);
        if (view.status !== 'running') {
          if (view.status !== 'succeeded')
            throw new Error(`the sync ended ${view.status}: ${JSON.stringify(view.runs)}`);
          return view.runs[0];
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const first = await finished((await syncs.start(caller, accountId, {})).sync.id);
    const again = await finished((await syncs.restart(caller, connection.id)).sync.id);
    return { first, again, rawPerSecond };
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const perSecond = (run: SyncRun) =>
  run.itemsSeen / ((run.finishedAt!.getTime() - run.createdAt.getTime()) / 1000);

async function main(): Promise<void> {
  const network = await startPeerProcess(fileURLToPath(import.meta.url), 'network');
  try {
    const { first, again, rawPerSecond } = await measure(network.url);
    if (
      first.itemsAdded !== TOTAL ||
      again.itemsSeen !== TOTAL ||
      again.itemsAdded + again.itemsUpdated !== 0
    )
      throw new Error(`unexpected counters: ${JSON.stringify({ first, again })}`);
    const [firstRate, againRate] = [perSecond(first), perSecond(again)];
    console.log(
      `sync via Junction: first ${Math.round(firstRate)} records/s (raw batched insert of the same rows into the same file: ` +
        `${Math.round(rawPerSecond)} rows/s, ratio ${(firstRate / rawPerSecond).toFixed(2)}); unchanged re-sync ` +
        `${Math.round(againRate)} records/s (${(againRate / firstRate).toFixed(1)}x the first)`,
    );
    console.log(
      `conditions: node ${process.version}, ${os.cpus().length} cores, ${TOTAL} records in pages of ${PAGE} from ` +
        `the fake network in its own process, SQLite with the embedded queue; the re-sync is a full restart`,
    );
  } finally {
    network.stop();
  }
}

servePeerOrRun('network', serveNetwork, main);
