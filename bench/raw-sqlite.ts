import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { dataSourceOptions, SQLITE_BUSY_TIMEOUT_MS } from '../src/database/data-source-options.js';

/**
 * A baseline's database: a fresh SQLite file with the app's schema (its migrations) and pragmas,
 * opened by better-sqlite3 directly, without TypeORM.
 */
export async function openRawSqlite(file: string): Promise<Database.Database> {
  const setup = new DataSource({ ...dataSourceOptions({ kind: 'sqlite', path: file }), entities: [] });
  await setup.initialize();
  await setup.runMigrations();
  await setup.destroy();
  return openSqliteAsTheAppDoes(file);
}

/** An existing SQLite file (the app's own, say), opened by better-sqlite3 with the app's pragmas. */
export function openSqliteAsTheAppDoes(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  return db;
}
