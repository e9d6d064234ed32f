import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';

export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * TypeORM options for either database. Entities are registered by their modules
 * (`autoLoadEntities`), so the migration CLI sees only the migrations, which is all it needs.
 */
export function dataSourceOptions(database: DatabaseConfig): DataSourceOptions {
  const common = {
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: false,
  } as const;
  if (database.kind === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: database.url,
      schema: database.schema,
      // Unqualified names in migrations and raw SQL resolve to the configured schema.
      extra: { options: `-c search_path=${database.schema}` },
    };
  }
  if (database.path !== ':memory:')
    fs.mkdirSync(path.dirname(path.resolve(database.path)), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    enableWAL: true,
    // TypeORM keeps prepared statements per SQL text, first in first out, 100 by default. Batched
    // statements differ by their number of rows, so at that size the hot statements kept being
    // pushed out and prepared again.
    statementCacheSize: 1000,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
    },
  };
}
