import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Migration } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { ChangeFeed } from './change-feed.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { WriteSerializer } from './write-serializer.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config.database),
        autoLoadEntities: true,
        retryAttempts: 0,
      }),
      dataSourceFactory: async (options) => {
        const dataSource = new DataSource(options!);
        await dataSource.initialize();
        await migrate(dataSource);
        return dataSource;
      },
    }),
  ],
  providers: [WriteSerializer, ChangeFeed, WalCheckpointer],
  exports: [WriteSerializer, ChangeFeed],
})
export class DatabaseModule {}

/** Arbitrary, fixed: the advisory lock that lets one process at a time migrate a PostgreSQL schema. */
const MIGRATION_LOCK_ID = 7_306_010;

/**
 * Runs pending migrations at boot. On PostgreSQL several processes may start together, so they
 * take turns under an advisory lock; the later ones then find nothing left to run. `junction
 * migrate` runs it too, and prints the migrations it returns.
 */
export async function migrate(dataSource: DataSource): Promise<Migration[]> {
  if (dataSource.options.type !== 'postgres') return dataSource.runMigrations({ transaction: 'each' });
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    if (dataSource.options.schema)
      await lock.query(`CREATE SCHEMA IF NOT EXISTS "${dataSource.options.schema}"`);
    return await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await lock.release();
  }
}
