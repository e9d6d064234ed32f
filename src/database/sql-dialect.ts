import type { QueryRunner } from 'typeorm';

/** Column types that differ between SQLite and PostgreSQL, so one migration serves both. */
export interface SqlDialect {
  uuid: string;
  timestamp: string;
  false: string;
}

export function sqlDialect(queryRunner: QueryRunner): SqlDialect {
  return queryRunner.connection.options.type === 'postgres'
    ? { uuid: 'uuid', timestamp: 'timestamptz', false: 'false' }
    : { uuid: 'varchar(36)', timestamp: 'datetime', false: '0' };
}
