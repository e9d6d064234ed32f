import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AppConfig } from '../../src/config/app-config.js';
import { WriteSerializer } from '../../src/database/write-serializer.js';
import type { TestApp } from './test-app.js';

/**
 * Makes the database fail, each time, to store an event whose data holds `marker`, until the
 * answer is called: a trigger, dropped again, on this run's own database. On PostgreSQL the error
 * has the SQLSTATE `sqlState` (P0001, a plain exception, when absent).
 */
export async function failingEventInserts(
  t: TestApp,
  marker: string,
  sqlState = 'P0001',
): Promise<() => Promise<void>> {
  const trigger = `fault_${randomUUID().replaceAll('-', '')}`;
  const write = async (sql: string) => {
    await t.app.get(WriteSerializer).transaction((manager) => manager.query(sql));
  };
  const when = `NEW.data LIKE '%${marker}%'`;
  if (t.database.kind === 'sqlite') {
    await write(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON event WHEN ${when} BEGIN SELECT RAISE(ABORT, 'a fault of this event'); END`,
    );
    return () => write(`DROP TRIGGER ${trigger}`);
  }
  await write(
    `CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'a fault of this event' USING ERRCODE = '${sqlState}'; END $$`,
  );
  await write(
    `CREATE TRIGGER ${trigger} BEFORE INSERT ON event FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${trigger}()`,
  );
  return async () => {
    await write(`DROP TRIGGER ${trigger} ON event`);
    await write(`DROP FUNCTION ${trigger}()`);
  };
}

/**
 * Takes this run's own database away until the answer is called, the way an outage does, and
 * touches nothing outside it.
 *
 * PostgreSQL: every statement on `tables` fails as it does when the server shuts down under its
 * clients: the client's backend is terminated, and the app sees 57P01 "terminating connection due
 * to administrator command" with its connection gone. A session of the test holds the tables'
 * ACCESS EXCLUSIVE lock, so a statement on them waits instead of running, and each backend that
 * waits on that session is terminated: none slips through, and no other run's backend is touched.
 * (Its pids come from pg_locks, which is read afresh each time; pg_stat_activity would stay as it
 * was when the session's transaction began.)
 *
 * SQLite: a second connection holds the write lock, as another process holding it does: every
 * write fails with SQLITE_BUSY, "database is locked". Reads still answer (WAL mode lets them); a
 * SQLite database has no outage in which they do not.
 */
export async function databaseOutage(t: TestApp, tables: string[]): Promise<() => Promise<void>> {
  const database = t.app.get(AppConfig).database;
  if (database.kind === 'sqlite') {
    const holder = new Database(database.path, { fileMustExist: true });
    holder.exec('BEGIN IMMEDIATE');
    return () => {
      holder.exec('ROLLBACK');
      holder.close();
      return Promise.resolve();
    };
  }
  const holder = new pg.Client({
    connectionString: database.url,
    options: `-c search_path=${database.schema} -c lock_timeout=5000`,
  });
  await holder.connect();
  let on = true;
  let terminating: Promise<Error | undefined> = Promise.resolve(undefined);
  try {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${tables.map((name) => `"${name}"`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    // Kept as settled, so a failure waits for the end to be thrown rather than going unhandled.
    terminating = (async () => {
      while (on) {
        await holder.query(
          `SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted) waiting
            WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))`,
        );
        await sleep(25);
      }
    })().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  } catch (error) {
    await holder.end();
    throw error;
  }
  return async () => {
    on = false;
    const failure = await terminating;
    // Ending the session rolls its transaction back and lets the tables go.
    await holder.end();
    if (failure) throw failure;
  };
}
