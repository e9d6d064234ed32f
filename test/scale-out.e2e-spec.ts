import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../src/database/migrations/index.js';
import { startTestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';

const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') === true;

/** Several processes sharing one PostgreSQL database; SQLite is one process by design. */
(onPostgres ? describe : describe.skip)('several processes on one PostgreSQL database', () => {
  it('boots them together: migrations run once and exactly one admin key is printed', async () => {
    const database = await TestDatabase.create();
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const started = await Promise.allSettled(
      [1, 2, 3].map(() => startTestApp({ database, env: { JUNCTION_ADMIN_KEY: '' } })),
    ).finally(() => write.mockRestore());
    const apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(started.filter((result) => result.status === 'rejected')).toEqual([]);
      const keys = printed.join('').match(/jk_[\w-]{43}/g) ?? [];
      expect(keys).toHaveLength(1);
      const dataSource = apps[0].app.get(DataSource);
      const migrations = await dataSource.query('SELECT "name" FROM "migrations"');
      expect(migrations).toHaveLength(MIGRATIONS.length);
      const admins = await dataSource.query(`SELECT "id" FROM "account" WHERE "role" = 'admin'`);
      expect(admins).toHaveLength(1);
      const [adminKey] = keys as string[];
      for (const t of apps) await t.http().get('/accounts/me').set('X-API-Key', adminKey).expect(200);
    } finally {
      await Promise.all(apps.map((t) => t.close()));
      await database.drop();
    }
  });
});
