import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import { CoreModule } from '../../src/common/core.module.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DatabaseModule } from '../../src/database/database.module.js';

export interface ServiceModule {
  module: TestingModule;
  config: AppConfig;
  close(): Promise<void>;
}

/**
 * The middle test tier: a Nest testing module with the real services and stores on a temporary
 * SQLite file, migrated, without HTTP. `imports` and `providers` are what the spec needs beside
 * the configuration, the clock and the database (a function of the configuration, for modules
 * such as `JobsModule.forRoot(config)`). The module is initialised (lifecycle hooks run,
 * so registries discover their handlers); `env` sets configuration, such as `JUNCTION_ROLES=api`
 * to keep workers and loops from starting.
 */
type Metadata = Pick<ModuleMetadata, 'imports' | 'providers'>;

export async function startServiceModule(
  metadata: Metadata | ((config: AppConfig) => Metadata),
  env: Record<string, string> = {},
): Promise<ServiceModule> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-service-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dataDir, 'junction.sqlite')}`,
    JUNCTION_SECRET_KEY: '11'.repeat(32),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const { imports = [], providers = [] } = typeof metadata === 'function' ? metadata(config) : metadata;
  let module: TestingModule | undefined;
  try {
    module = await Test.createTestingModule({
      imports: [CoreModule.forRoot(config), DatabaseModule, ...imports],
      providers,
    }).compile();
    await module.init();
  } catch (error) {
    // A boot that fails (as some specs expect) leaves neither its database open nor its folder.
    await module?.close().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    module,
    config,
    close: async () => {
      await module.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
