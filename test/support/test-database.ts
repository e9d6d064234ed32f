import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { withDefaultUser } from '../../src/config/load-config.js';

/**
 * A database of the test run's own: a temporary SQLite file by default, or, when DATABASE_URL
 * points at PostgreSQL, a fresh schema there that `drop()` removes. If that server cannot be
 * reached the test fails: a PostgreSQL pass never skips silently. When REDIS_URL is set, jobs go
 * through Bull under a Redis key prefix of this database's own, whose keys `drop()` deletes.
 */
/** The catalogs a dropped schema's tables leave dead rows in. */
const CATALOG_VACUUM = `VACUUM pg_catalog.pg_attribute, pg_catalog.pg_depend, pg_catalog.pg_class,
  pg_catalog.pg_type, pg_catalog.pg_index, pg_catalog.pg_constraint, pg_catalog.pg_attrdef`;

export class TestDatabase {
  private constructor(
    /** DATABASE_URL for the app under test. */
    readonly url: string,
    readonly kind: 'sqlite' | 'postgres',
    private readonly cleanup: () => Promise<void>,
    /** The folder for this database's data (the SQLite file, the secret key). */
    readonly dataDir: string,
  ) {}

  /** Bull's Redis, when this run uses it. */
  readonly redisUrl = process.env.REDIS_URL || undefined;
  /** Every Redis key of this database's apps starts with this. */
  readonly redisPrefix = `junction-test-${randomBytes(6).toString('hex')}`;

  static async create(): Promise<TestDatabase> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-test-'));
    const removeDir = () => fs.rmSync(dataDir, { recursive: true, force: true });
    const serverUrl = process.env.DATABASE_URL;
    if (!serverUrl?.startsWith('postgres')) {
      return new TestDatabase(
        `sqlite:${path.join(dataDir, 'junction.sqlite')}`,
        'sqlite',
        () => Promise.resolve(removeDir()),
        dataDir,
      );
    }
    const schema = `junction_test_${randomBytes(6).toString('hex')}`;
    await withClient(serverUrl, (client) => client.query(`CREATE SCHEMA "${schema}"`));
    const url = new URL(serverUrl);
    url.searchParams.set('schema', schema);
    return new TestDatabase(
      url.toString(),
      'postgres',
      async () => {
        await withClient(serverUrl, async (client) => {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          // Each test schema leaves its tables' rows dead in the system catalogs; where autovacuum
          // is off (these machines), they pile up until every CREATE TABLE, and so every boot's
          // migrations, crawls (measured: events.e2e-spec 8 s alone, 67 s late in a full run).
          await client.query(CATALOG_VACUUM);
        });
        removeDir();
      },
      dataDir,
    );
  }

  /** Environment for a Junction process on this database, quiet unless asked otherwise. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.url,
      ...(this.redisUrl ? { REDIS_URL: this.redisUrl, JUNCTION_REDIS_PREFIX: this.redisPrefix } : {}),
      LOG_LEVEL: 'silent',
      // The same logs whether the tests run at a terminal or not.
      LOG_FORMAT: 'json',
      JUNCTION_SECRET_KEY: '11'.repeat(32),
      ...extra,
    };
  }

  async drop(): Promise<void> {
    await this.flushRedis();
    await this.cleanup();
  }

  /** Deletes every Redis key of this database's apps: a FLUSHALL that leaves other runs alone. */
  async flushRedis(): Promise<number> {
    if (!this.redisUrl) return 0;
    const redis = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let deleted = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.redisPrefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.del(...keys);
      } while (cursor !== '0');
      return deleted;
    } finally {
      redis.disconnect();
    }
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: withDefaultUser(new URL(url)).toString(),
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `DATABASE_URL=${url} was given for the PostgreSQL pass, but it cannot be reached: ${String(error)}`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
