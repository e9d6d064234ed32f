import type { EntityManager } from 'typeorm';

export interface RawResult<Row> {
  rows: Row[];
  /** Rows changed by an INSERT, UPDATE or DELETE without RETURNING. */
  affected: number;
}

/**
 * Runs hand-written SQL on either database: `?` placeholders become `$1, $2...` on PostgreSQL,
 * and Dates are written the way TypeORM stores them on SQLite (UTC text), so raw statements and
 * entities agree. The SQL must not contain a literal `?`.
 */
export async function rawSql<Row = Record<string, unknown>>(
  manager: EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<RawResult<Row>> {
  const postgres = manager.connection.options.type === 'postgres';
  let index = 0;
  const text = postgres ? sql.replace(/\?/g, () => `$${++index}`) : sql;
  const values = postgres ? params : params.map((p) => (p instanceof Date ? sqliteTimestamp(p) : p));
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, values, true);
    return { rows: (result.records ?? []) as Row[], affected: result.affected ?? 0 };
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}

/** A timestamp read by raw SQL: a Date on PostgreSQL, UTC text on SQLite. */
export function readTimestamp(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const text = sqlText(value);
  return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
}

/** How TypeORM stores a Date in a SQLite datetime column: `2026-11-24 10:00:00.000`, in UTC. */
function sqliteTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** A text or number value read by raw SQL, as a string. */
export function sqlText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}
