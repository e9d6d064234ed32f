import type { DataSource } from 'typeorm';
import { ADMIN_KEY, bearer } from './test-app.js';
import type { TestApp } from './test-app.js';
import { waitFor } from './wait-for.js';

/**
 * Defines goods types and locations (a location may name its `parent`, defined before it) and
 * enters goods, through the API as an admin.
 */
export async function seedWarehouse(
  t: TestApp,
  seed: {
    goodsTypes?: string[];
    locations?: (string | { code: string; parent: string })[];
    goods?: { goodsType: string; location: string; count?: number }[];
  },
): Promise<void> {
  const admin = bearer(ADMIN_KEY);
  for (const code of seed.goodsTypes ?? []) {
    await t.http().post('/goods-types').set(admin).send({ code }).expect(201);
  }
  for (const location of seed.locations ?? []) {
    const body = typeof location === 'string' ? { code: location } : location;
    await t.http().post('/locations').set(admin).send(body).expect(201);
  }
  for (const line of seed.goods ?? []) {
    await t.http().post('/goods').set(admin).send(line).expect(201);
  }
}

/** Waits until no pending request is left that the reserver has not looked at since the supply last changed. */
export async function waitForReserverToSettle(dataSource: DataSource, timeoutMs?: number): Promise<void> {
  await waitFor(
    () =>
      dataSource.query<{ n: string }[]>(
        `SELECT count(*) AS n FROM reservation_request
         WHERE status = 'pending' AND checked_version < (SELECT version FROM supply_version)`,
      ),
    ([row]) => Number(row.n) === 0,
    timeoutMs,
  );
}
