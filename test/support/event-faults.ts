import { randomUUID } from 'node:crypto';
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
