import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { TestDatabase } from './test-database.js';
import { waitFor } from './wait-for.js';

export const ADMIN_KEY = 'jk_test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';

export interface TestApp {
  app: NestFastifyApplication;
  database: TestDatabase;
  /** supertest against the app's HTTP server, without listening on a port. */
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

/**
 * Boots the real application (the same `createApp` as `main.ts`) on a database of its own.
 * Pass a database to boot a second time on the same data; it is then left for the caller to drop.
 */
export async function startTestApp(
  options: {
    env?: Record<string, string>;
    database?: TestDatabase;
    /** Modules to add, such as job handlers. */
    features?: Parameters<typeof createApp>[1];
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await TestDatabase.create());
  const config = loadConfig(database.env({ JUNCTION_ADMIN_KEY: ADMIN_KEY, ...options.env }));
  const app = await createApp(config, options.features);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    database,
    http: () => request(app.getHttpServer()),
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}

export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** A new account with `role` and an API key for it, made by the admin; returns the key's header. */
export async function keyWithRole(
  t: TestApp,
  role: 'viewer' | 'operator' | 'admin',
): Promise<{ Authorization: string }> {
  const admin = bearer(ADMIN_KEY);
  const account = (
    await t
      .http()
      .post('/accounts')
      .set(admin)
      .send({ name: role, email: `${role}-${Date.now()}@keys.test`, role })
      .expect(201)
  ).body as { id: string };
  const { key } = (
    await t.http().post(`/accounts/${account.id}/api-keys`).set(admin).send({ name: 'k' }).expect(201)
  ).body as { key: string };
  return bearer(key);
}

/** The newest job of `type` (one enqueued at boot, such as a reseal), once it has ended as `status`. */
export function jobEnded(
  t: TestApp,
  type: string,
  status: string,
): Promise<{ id: string; status: string; result: unknown } | undefined> {
  return waitFor(
    async () =>
      (await t.http().get(`/jobs?type=${type}`).set(bearer(ADMIN_KEY)).expect(200)).body.items[0] as
        { id: string; status: string; result: unknown } | undefined,
    (found) => found?.status === status,
  );
}
