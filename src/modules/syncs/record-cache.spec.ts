import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { loadConfig } from '../../config/load-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { RecordCache } from './record-cache.js';
import type { StoredRecord } from './record.store.js';

const CONNECTION = '019abc12-3def-7456-89ab-cdef01234567';
const outsideATransaction = undefined as unknown as EntityManager;

/** A cache as a process on this database (and Redis) runs it, with a loader that counts its reads. */
async function cacheFor(env: Record<string, string>): Promise<RecordCache> {
  const config = loadConfig(env);
  const database = { options: { type: config.database.kind === 'sqlite' ? 'better-sqlite3' : 'postgres' } };
  const cache = new RecordCache(config, new WriteSerializer(database as DataSource));
  await cache.onModuleInit();
  return cache;
}

function loader(): { load: () => Promise<StoredRecord | null>; reads: () => number } {
  let reads = 0;
  return {
    load: () => Promise.resolve({ id: String(++reads) } as StoredRecord),
    reads: () => reads,
  };
}

describe('RecordCache', () => {
  it('on SQLite (one process) keeps reads until this process writes the connection’s records', async () => {
    const cache = await cacheFor({});
    const { load, reads } = loader();
    expect(await cache.read(CONNECTION, 'photos/p-1', load)).toEqual({ id: '1' });
    expect(await cache.read(CONNECTION, 'photos/p-1', load)).toEqual({ id: '1' });
    expect(reads()).toBe(1);

    cache.changed(outsideATransaction, CONNECTION);

    expect(await cache.read(CONNECTION, 'photos/p-1', load)).toEqual({ id: '2' });
    cache.onApplicationShutdown();
  });

  it('does not keep a read that a write overtook', async () => {
    const cache = await cacheFor({});
    let reads = 0;
    const racing = () => {
      cache.changed(outsideATransaction, CONNECTION);
      return Promise.resolve({ id: String(++reads) } as StoredRecord);
    };
    await cache.read(CONNECTION, 'photos/p-2', racing);
    await cache.read(CONNECTION, 'photos/p-2', racing);
    expect(reads).toBe(2);
    cache.onApplicationShutdown();
  });

  it('caches nothing on PostgreSQL without Redis, where other processes’ writes go unheard', async () => {
    const cache = await cacheFor({ DATABASE_URL: 'postgres://127.0.0.1:5432/test' });
    const { load, reads } = loader();
    await cache.read(CONNECTION, 'photos/p-1', load);
    await cache.read(CONNECTION, 'photos/p-1', load);
    expect(reads()).toBe(2);
    cache.onApplicationShutdown();
  });

  const redisUrl = process.env.REDIS_URL;
  // The PostgreSQL + Redis pass (CI=true) sets REDIS_URL; the SQLite pass has no Redis to use.
  (redisUrl ? it : it.skip)('with Redis drops what another process wrote', async () => {
    const env = {
      DATABASE_URL: 'postgres://127.0.0.1:5432/test',
      REDIS_URL: redisUrl!,
      JUNCTION_REDIS_PREFIX: `junction-test-${randomUUID().slice(0, 8)}`,
    };
    const [reader, writer] = [await cacheFor(env), await cacheFor(env)];
    try {
      const { load, reads } = loader();
      await reader.read(CONNECTION, 'photos/p-1', load);
      await reader.read(CONNECTION, 'photos/p-1', load);
      expect(reads()).toBe(1);

      writer.changed(outsideATransaction, CONNECTION);

      await waitFor(
        () => reader.read(CONNECTION, 'photos/p-1', load),
        (record) => record?.id === '2',
      );
    } finally {
      reader.onApplicationShutdown();
      writer.onApplicationShutdown();
    }
  });
});
