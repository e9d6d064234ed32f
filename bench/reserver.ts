/**
 * The reserver: reservation requests served per second, with 10,000 requests over 10,000, 100,000
 * and 1,000,000 goods on SQLite, and the growth of the per-request cost from the smallest to the
 * largest size. Beside each size, in the same run, a baseline: the same reservations made by raw
 * better-sqlite3 statements (one indexed look-up and four writes per request, 200 requests per
 * transaction) on a copy of the same file.
 *
 * Conditions: one process, a temporary SQLite file (WAL, synchronous=NORMAL), 100 goods types with
 * goods spread evenly and a property `lot` of 10 values; each request asks for 1 object of a random
 * type, one in five for a given lot; the reserver runs its batches (JUNCTION_RESERVER_BATCH, 200)
 * back to back and stores a `reservation.reserved` event per reserved request, as in production.
 * An unreported round on 2,000 goods warms the JIT up first.
 *
 *   npm run bench:reserver            (or: node dist/bench/reserver.js 10000 100000)
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type Database from 'better-sqlite3';
import { openRawSqlite } from './raw-sqlite.js';
import { newId } from '../src/common/ids.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/load-config.js';
import { ReserverService } from '../src/modules/reservations/reserver.service.js';
import { seededRandom } from '../test/support/reservation-model.js';

const REQUESTS = 10_000;
const TYPES = 100;
const LOTS = 10;
const SIZES = process.argv.slice(2).map(Number).filter(Boolean);

interface Result {
  goods: number;
  perSecond: number;
  reserved: number;
  baselinePerSecond: number;
}

/** Fills a fresh file with goods present on one shelf and REQUESTS pending requests. */
function populate(db: Database.Database, goods: number): void {
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const random = seededRandom(goods);
  const location = newId();
  const types = Array.from({ length: TYPES }, () => newId());
  db.transaction(() => {
    db.prepare(
      `INSERT INTO location (id, code, label, parent_id, created_at) VALUES (?, 'shelf', 'shelf', NULL, ?)`,
    ).run(location, now);
    const type = db.prepare(
      `INSERT INTO goods_type (id, code, label, properties, created_at) VALUES (?, ?, ?, '{}', ?)`,
    );
    types.forEach((id, n) => type.run(id, `type-${n}`, `type ${n}`, now));
    const object = db.prepare(
      `INSERT INTO goods (id, type_id, code, properties, reserved, in_stock, created_at) VALUES (?, ?, NULL, ?, 0, 1, ?)`,
    );
    const avatar = db.prepare(
      `INSERT INTO avatar (id, goods_id, location_id, state, dt_from, dt_until, outcome_of)
       VALUES (?, ?, ?, 'present', ?, NULL, NULL)`,
    );
    for (let n = 0; n < goods; n++) {
      const id = newId();
      object.run(id, types[n % TYPES], JSON.stringify({ lot: Math.floor(n / TYPES) % LOTS }), now);
      avatar.run(newId(), id, location, now);
    }
    const request = db.prepare(
      `INSERT INTO reservation_request (id, purpose, purpose_type, lane, reserved, planned, status, checked_version,
         claimed_by, claimed_until, idempotency_key, created_at, updated_at)
       VALUES (?, '{"type":"sale"}', 'sale', 'main', 0, 0, 'pending', 0, NULL, NULL, NULL, ?, ?)`,
    );
    const item = db.prepare(
      `INSERT INTO request_item (id, request_id, position, goods_type_id, quantity, properties, reserved_quantity)
       VALUES (?, ?, 0, ?, 1, ?, 0)`,
    );
    for (let n = 0; n < REQUESTS; n++) {
      const id = newId();
      request.run(id, now, now);
      const wanted = random() < 0.2 ? { lot: Math.floor(random() * LOTS) } : {};
      item.run(newId(), id, types[Math.floor(random() * TYPES)], JSON.stringify(wanted));
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/** The baseline: the same reservations with raw statements, no framework, no events. */
function rawReserve(db: Database.Database): number {
  const pending = db
    .prepare(
      `SELECT r.id AS request, i.id AS item, i.goods_type_id AS type, i.properties AS properties
       FROM reservation_request r JOIN request_item i ON i.request_id = r.id
       WHERE r.status = 'pending' ORDER BY r.id`,
    )
    .all() as { request: string; item: string; type: string; properties: string }[];
  const find = db.prepare(
    `SELECT id, properties FROM goods WHERE type_id = ? AND reserved = 0 AND in_stock = 1 AND id > ? ORDER BY id LIMIT 32`,
  );
  const reserve = db.prepare(
    `INSERT INTO reservation (id, goods_id, request_item_id, request_id, quantity, created_at) VALUES (?, ?, ?, ?, 1, ?)`,
  );
  const flag = db.prepare(`UPDATE goods SET reserved = 1 WHERE id = ?`);
  const count = db.prepare(`UPDATE request_item SET reserved_quantity = 1 WHERE id = ?`);
  const done = db.prepare(`UPDATE reservation_request SET status = 'reserved', reserved = 1 WHERE id = ?`);
  const now = new Date().toISOString();
  let reserved = 0;
  for (let start = 0; start < pending.length; start += 200) {
    db.transaction(() => {
      for (const p of pending.slice(start, start + 200)) {
        const wanted = JSON.parse(p.properties) as { lot?: number };
        let cursor = '00000000-0000-0000-0000-000000000000';
        let found: string | undefined;
        while (found === undefined) {
          const rows = find.all(p.type, cursor) as { id: string; properties: string }[];
          if (rows.length === 0) break;
          for (const row of rows) {
            cursor = row.id;
            if (
              wanted.lot === undefined ||
              (JSON.parse(row.properties) as { lot: number }).lot === wanted.lot
            ) {
              found = row.id;
              break;
            }
          }
        }
        if (found === undefined) continue;
        reserve.run(newId(), found, p.item, p.request, now);
        flag.run(found);
        count.run(p.item);
        done.run(p.request);
        reserved++;
      }
    })();
  }
  return reserved;
}

async function measure(goods: number): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-bench-reserver-'));
  try {
    const file = path.join(dir, 'junction.sqlite');
    const raw = await openRawSqlite(file);
    populate(raw, goods);
    raw.close();
    const copy = path.join(dir, 'baseline.sqlite');
    fs.copyFileSync(file, copy);

    const app = await NestFactory.createApplicationContext(
      AppModule.forRoot(
        loadConfig({
          DATABASE_URL: `sqlite:${file}`,
          JUNCTION_ROLES: 'api',
          LOG_LEVEL: 'warn',
          JUNCTION_SECRET_KEY: '11'.repeat(32),
          JUNCTION_ADMIN_KEY: 'jk_bench-admin-key-0123456789abcdefghijklmnop',
        }),
      ),
      { logger: ['warn', 'error'] },
    );
    let perSecond: number;
    let reserved: number;
    try {
      const reserver = app.get(ReserverService);
      const started = process.hrtime.bigint();
      const outcome = await reserver.drain('main');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (outcome.examined !== REQUESTS)
        throw new Error(`examined ${outcome.examined} requests, not ${REQUESTS}`);
      perSecond = outcome.examined / seconds;
      reserved = outcome.reserved;
    } finally {
      await app.close();
    }

    const baseline = await openRawSqlite(copy);
    const started = process.hrtime.bigint();
    const baselineReserved = rawReserve(baseline);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    baseline.close();
    if (baselineReserved !== reserved) {
      throw new Error(`the baseline reserved ${baselineReserved} requests, the reserver ${reserved}`);
    }
    return { goods, perSecond, reserved, baselinePerSecond: REQUESTS / seconds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = SIZES.length > 0 ? SIZES : [10_000, 100_000, 1_000_000];
  // A round on a small file first, so the first reported size does not pay for the JIT warming up.
  await measure(2_000);
  const results: Result[] = [];
  for (const goods of sizes) {
    const result = await measure(goods);
    results.push(result);
    console.log(
      `reserver: ${REQUESTS} requests over ${goods} goods: ${Math.round(result.perSecond)} requests/s, ` +
        `${(1000 / result.perSecond).toFixed(3)} ms per request, ${result.reserved} reserved ` +
        `(raw sqlite baseline: ${Math.round(result.baselinePerSecond)}/s, ratio ${(result.perSecond / result.baselinePerSecond).toFixed(2)})`,
    );
  }
  if (results.length > 1) {
    const first = results[0];
    const last = results[results.length - 1];
    console.log(
      `reserver: per-request cost from ${first.goods} to ${last.goods} goods grew x${(first.perSecond / last.perSecond).toFixed(2)} ` +
        `(baseline x${(first.baselinePerSecond / last.baselinePerSecond).toFixed(2)})`,
    );
  }
}

void main();
