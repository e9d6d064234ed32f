import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
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
        await prepareSchema(dataSource);
        await dataSource.runMigrations({ transaction: 'each' });
        return dataSource;
      },
    }),
  ],
  providers: [WriteSerializer],
  exports: [WriteSerializer],
})
export class DatabaseModule {}

async function prepareSchema(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'postgres' || !dataSource.options.schema) return;
  await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${dataSource.options.schema}"`);
}
