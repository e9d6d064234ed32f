import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { CatalogueService } from '../src/modules/reservations/catalogue.service.js';
import { GoodsService } from '../src/modules/reservations/goods.service.js';
import { ReservationRequestsService } from '../src/modules/reservations/reservation-requests.service.js';
import { consistencyProblems, modelPass, readState, seededRandom } from './support/reservation-model.js';
import { startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';
import { waitForReserverToSettle } from './support/warehouse.js';

/** Built by `npm test`'s build step. */
const RESERVER = path.resolve('dist/test/fixtures/reserver-process.js');
const REQUESTS = 1500;

describe('a reserver killed with SIGKILL in the middle of its batches', () => {
  it('leaves consistent state, and a restarted reserver ends where an uninterrupted one would', async () => {
    const database = await TestDatabase.create();
    const api = await startTestApp({ database, env: { JUNCTION_ROLES: 'api' } });
    try {
      const random = seededRandom(7);
      const goods = api.app.get(GoodsService);
      const catalogue = api.app.get(CatalogueService);
      const requests = api.app.get(ReservationRequestsService);
      const dataSource = api.app.get(DataSource);
      await catalogue.createLocation({ code: 'shelf' });
      for (const code of ['a', 'b', 'c']) await catalogue.createGoodsType({ code });
      for (const code of ['a', 'b', 'c']) {
        await goods.enterGoods({ goodsType: code, location: 'shelf', count: 600, properties: { size: 1 } });
        await goods.enterGoods({ goodsType: code, location: 'shelf', count: 300, properties: { size: 2 } });
      }
      for (let n = 0; n < REQUESTS; n++) {
        await requests.create({
          purpose: { type: 'sale' },
          items: [
            {
              goodsType: ['a', 'b', 'c'][Math.floor(random() * 3)],
              quantity: 1 + Math.floor(random() * 3),
              properties: random() < 0.3 ? { size: 1 + Math.floor(random() * 2) } : {},
            },
          ],
        });
      }
      const unreserved = await readState(dataSource);
      const expected = modelPass(unreserved, 'main', new Map());
      const count = async () => {
        const [row] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM reservation`);
        return Number(row.n);
      };

      const child = spawn(process.execPath, [RESERVER], {
        env: {
          ...database.env({ JUNCTION_ROLES: 'reserver', JUNCTION_RESERVER_BATCH: '4' }),
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await waitFor(count, (n) => n >= 200, 60_000, 5);
      child.kill('SIGKILL');
      await exited;

      const atKill = await count();
      expect(atKill).toBeLessThan(expected.size);
      expect(await consistencyProblems(dataSource)).toEqual([]);

      const restarted = await startTestApp({ database, env: { JUNCTION_ROLES: 'reserver' } });
      try {
        await waitForReserverToSettle(dataSource, 60_000);
      } finally {
        await restarted.close();
      }
      const final = await readState(dataSource);
      expect(await consistencyProblems(dataSource)).toEqual([]);
      expect([...final.reservations].sort()).toEqual([...expected].sort());
    } finally {
      await api.close();
      await database.drop();
    }
  }, 120_000);
});
