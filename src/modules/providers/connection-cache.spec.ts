import type { DataSource, EntityManager } from 'typeorm';
import { loadConfig } from '../../config/load-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { ConnectionCache } from './connection-cache.js';
import { ConnectionChanges } from './connection-changes.service.js';
import type { Connection } from './connection.entity.js';

const ID = '00000000-0000-4000-8000-000000000001';

/** The cache as one process on SQLite runs it (no REDIS_URL), or on PostgreSQL without Redis. */
describe('ConnectionCache', () => {
  let changes: ConnectionChanges;
  let serializer: WriteSerializer;
  let cache: ConnectionCache;
  /** What a read from the database answers, and how many reads were made. */
  let row: Connection;
  let loads: number;

  // A transaction that runs `work` with a manager of its own and fails when `work` does.
  const dataSource = {
    options: { type: 'better-sqlite3' },
    transaction: (work: (manager: EntityManager) => Promise<unknown>) => work({} as EntityManager),
  } as unknown as DataSource;

  const connection = (changed: Partial<Connection> = {}): Connection =>
    ({ id: ID, state: 'active', credentialType: 'bearer', ...changed }) as Connection;
  const load = () => {
    loads++;
    return Promise.resolve(row);
  };

  beforeEach(() => {
    changes = new ConnectionChanges();
    serializer = new WriteSerializer(dataSource);
    cache = new ConnectionCache(loadConfig({}), serializer, changes);
    row = connection();
    loads = 0;
  });

  it('reads a connection once while nothing writes it', async () => {
    await cache.read(ID, load);
    const again = await cache.read(ID, load);

    expect(again).toBe(row);
    expect(cache.get(ID)).toBe(row);
    expect(loads).toBe(1);
  });

  it('reads a connection again after a write to it commits', async () => {
    await cache.read(ID, load);

    await serializer.transaction(async (manager) => {
      row = connection({ state: 'paused' });
      cache.written(manager, ID);
      // Read while the transaction runs: on SQLite this sees the uncommitted row.
      expect((await cache.read(ID, load))?.state).toBe('paused');
      expect(cache.get(ID)).toBeUndefined();
    });

    expect(cache.get(ID)).toBeUndefined();
    expect((await cache.read(ID, load))?.state).toBe('paused');
    expect(cache.get(ID)?.state).toBe('paused');
  });

  it('keeps nothing of a write that rolled back until a later write commits', async () => {
    await expect(
      serializer.transaction((manager) => {
        row = connection({ state: 'paused' });
        cache.written(manager, ID);
        return Promise.reject(new Error('rolled back'));
      }),
    ).rejects.toThrow('rolled back');
    row = connection();

    await cache.read(ID, load);
    expect(cache.get(ID)).toBeUndefined();

    await serializer.transaction((manager) => Promise.resolve(cache.written(manager, ID)));
    await cache.read(ID, load);
    expect(cache.get(ID)).toBe(row);
  });

  it('does not keep a read that a write overtook', async () => {
    const read = cache.read(ID, load);
    cache.written(undefined, ID);
    await read;

    expect(cache.get(ID)).toBeUndefined();
  });

  it('drops a connection when a change to it is announced', async () => {
    await cache.read(ID, load);

    changes.changed(ID);

    expect(cache.get(ID)).toBeUndefined();
  });

  it('does not keep OAuth connections, whose tokens are refreshed under them', async () => {
    row = connection({ credentialType: 'oauth2' });

    await cache.read(ID, load);

    expect(cache.get(ID)).toBeUndefined();
  });

  it('keeps nothing on PostgreSQL without Redis, where the writes of other processes go unheard', async () => {
    cache = new ConnectionCache(
      loadConfig({ DATABASE_URL: 'postgres://127.0.0.1:5432/test' }),
      serializer,
      changes,
    );

    await cache.read(ID, load);
    await cache.read(ID, load);

    expect(cache.get(ID)).toBeUndefined();
    expect(loads).toBe(2);
  });
});
