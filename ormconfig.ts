import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/load-config.js';
import { dataSourceOptions } from './src/database/data-source-options.js';

/** The DataSource the TypeORM migration CLI uses (`npm run migration:run`); the app runs the same migrations at boot. */
export default new DataSource(dataSourceOptions(loadConfig(process.env).database));
