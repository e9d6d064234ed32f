import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

export interface RawResult<Row> {
  rows: Row[];
  /** Rows changed by an INSERT, UPDATE or DELETE without RETURNING. */
  affected: number;
}

/**
 * Runs hand-written SQL on either database: `?` placeholders become `$1, $2...` on PostgreSQL,
 * and Dates and booleans are written the way TypeORM stores them on SQLite (UTC text, 1 and 0), so
 * raw statements and entities agree. The SQL must not contain a literal `?`.
 */
export async function rawSql<Row = Record<string, unknown>>(
  manager: EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<RawResult<Row>> {
  const postgres = manager.connection.options.type === 'postgres';
  let index = 0;
  const text = postgres ? sql.replace(/\?/g, () => `$${++index}`) : sql;
  const values = postgres ? params : params.map(sqliteValue);
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, values, true);
    return { rows: (result.records ?? []) as Row[], affected: result.affected ?? 0 };
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}

/**
 * `column` in a WHERE term that no index may serve, for statements that find their rows by id.
 * SQLite plans without statistics and guesses that an equality on an indexed column matches ten
 * rows, so beside `id IN (...)` with ten or more ids it walks every row of that status through
 * the status index (thousands of waiting jobs) instead of looking the ids up. A unary `+` takes
 * the term out of index selection (sqlite.org/optoverview.html, "Disqualifying WHERE Clause
 * Terms"). PostgreSQL keeps statistics, needs no hint and has no unary `+` for text.
 */
export function notIndexed(column: string, postgres: boolean): string {
  return postgres ? column : `+${column}`;
}

/** A timestamp read by raw SQL: a Date on PostgreSQL, UTC text on SQLite. */
export function readTimestamp(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const text = sqlText(value);
  return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
}

/** better-sqlite3 takes neither Dates nor booleans: they are stored as TypeORM stores them. */
function sqliteValue(value: unknown): unknown {
  if (value instanceof Date) return sqliteTimestamp(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** How TypeORM stores a Date in a SQLite datetime column: `2026-11-24 10:00:00.000`, in UTC. */
function sqliteTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** A nullable text column read by raw SQL: its text, or null. */
export function nullableSqlText(value: unknown): string | null {
  return value === null || value === undefined ? null : sqlText(value);
}

/** A nullable JSON column (TypeORM's simple-json) read by raw SQL: its value, or null. */
export function sqlJson(value: unknown): unknown {
  return value === null || value === undefined ? null : (JSON.parse(sqlText(value)) as unknown);
}

/** A text or number value read by raw SQL, as a string. */
export function sqlText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/**
 * Inserts whole entities in one statement, nothing when there are none. Called with a concrete
 * entity, TypeORM's deep-partial insert type rejects JSON columns typed as records; through this
 * generic signature it accepts them.
 */
export async function insertEntities<E extends ObjectLiteral>(
  manager: EntityManager,
  target: EntityTarget<E>,
  rows: E[],
): Promise<void> {
  if (rows.length > 0) await manager.insert(target, rows);
}

/** `?, ?, ?` for an IN list or a VALUES row of `n` values. */
export function sqlPlaceholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** `list` in parts of at most `size`, for statements that must stay under a parameter limit. */
export function inChunks<T>(list: T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < list.length; i += size) parts.push(list.slice(i, i + size));
  return parts;
}
