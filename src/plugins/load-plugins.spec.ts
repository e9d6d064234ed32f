import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { withPluginOrigin } from '../common/plugin-origin.js';
import type { PluginSpec } from '../config/app-config.js';
import { PluginLoadError, loadPlugins, pluginBootError } from './load-plugins.js';
import type { PluginModule } from './load-plugins.js';
import { PluginHostModule } from './plugin-host.module.js';

// Plain ESM files; `Reflect.defineMetadata('providers', ...)` is what `@Module({ providers })` does.
const module = (name: string) =>
  `export class ${name} {}\nReflect.defineMetadata('providers', [], ${name});\n`;

describe('loadPlugins', () => {
  let folder: string;
  const file = (name: string, source: string): PluginSpec => {
    const filePath = path.join(folder, name);
    fs.writeFileSync(filePath, source);
    return { kind: 'file', name: `./${name}`, path: filePath };
  };
  const failureOf = async (plugin: PluginSpec): Promise<string> => {
    const error: unknown = await loadPlugins([plugin]).catch((caught: unknown) => caught);
    if (!(error instanceof PluginLoadError))
      throw new Error(`expected a PluginLoadError, got ${String(error)}`);
    return error.message;
  };

  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-load-plugins-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('adds nothing, not even the host module, when no plug-in is listed', async () => {
    expect(await loadPlugins([])).toEqual([]);
  });

  it('takes the default export when it is a module, whatever else the file exports', async () => {
    const plugin = file('default.mjs', `${module('Helper')}${module('Main')}export default Main;\n`);

    const [host, loaded] = await loadPlugins([plugin]);

    expect(host).toBe(PluginHostModule);
    expect((loaded as { name: string }).name).toBe('Main');
  });

  it('takes the only named module when there is no default export', async () => {
    const plugin = file('named.mjs', `${module('Only')}export const answer = 42;\n`);

    const [, loaded] = await loadPlugins([plugin]);

    expect((loaded as { name: string }).name).toBe('Only');
  });

  it('takes a dynamic module as the default export', async () => {
    const plugin = file('dynamic.mjs', 'class Dyn {}\nexport default { module: Dyn, providers: [] };\n');

    const [, loaded] = await loadPlugins([plugin]);

    expect((loaded as DynamicModule).module.name).toBe('Dyn');
  });

  it('refuses a file with several named modules and no default, naming them', async () => {
    const plugin = file('several.mjs', `${module('First')}${module('Second')}`);

    expect(await failureOf(plugin)).toBe(
      'plug-in ./several.mjs: exports several Nest modules (First, Second); make the one to load its default export',
    );
  });

  it('refuses a file that exports no module', async () => {
    const plugin = file('none.mjs', 'export class NotAModule {}\n');

    expect(await failureOf(plugin)).toContain('plug-in ./none.mjs: exports no Nest module');
  });

  it('refuses a file whose import throws, with the error', async () => {
    const plugin = file('throws.mjs', 'throw new Error("no partner token");\n');

    expect(await failureOf(plugin)).toBe('plug-in ./throws.mjs: cannot be imported: no partner token');
  });

  it('marks the plug-in module and the modules it imports with the file', async () => {
    const plugin = file(
      'imports.mjs',
      `${module('Inner')}export default class Outer {}\nReflect.defineMetadata('imports', [Inner], Outer);\n`,
    );

    const [, outer] = await loadPlugins([plugin]);

    const inner = (Reflect.getOwnMetadata('imports', outer) as [unknown])[0];
    expect(withPluginOrigin('Outer', outer)).toBe('Outer (plug-in ./imports.mjs)');
    expect(withPluginOrigin('Inner', inner)).toBe('Inner (plug-in ./imports.mjs)');
    expect(withPluginOrigin('Built-in', PluginHostModule)).toBe('Built-in');
  });
});

describe('pluginBootError', () => {
  let folder: string;
  /** Boots `module` alone, as the application would with it among its imports; the error it fails with. */
  const bootError = async (module: PluginModule): Promise<unknown> => {
    const app = await NestFactory.createApplicationContext(module, {
      abortOnError: false,
      logger: false,
    }).catch((error: unknown) => error);
    if (!(app instanceof Error)) throw new Error('expected the boot to fail');
    return app;
  };
  /** A plug-in file whose module provides `Worker`, and exports `Missing`, which nothing provides. */
  const loadWorkerPlugin = async (name: string, worker: string) => {
    const filePath = path.join(folder, name);
    fs.writeFileSync(
      filePath,
      `export class Missing {}\nexport ${worker}\n` +
        `export default class WorkerPlugin {}\nReflect.defineMetadata('providers', [Worker], WorkerPlugin);\n`,
    );
    const modules = await loadPlugins([{ kind: 'file', name: `./${name}`, path: filePath }]);
    const exports = (await import(filePath)) as { Worker: Type; Missing: Type };
    return { modules, plugin: modules[1], ...exports };
  };

  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-plugin-boot-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it("names the plug-in and keeps Nest's reason when a plug-in class's dependency cannot be resolved", async () => {
    const { modules, plugin, Worker, Missing } = await loadWorkerPlugin(
      'unresolved.mjs',
      'class Worker { constructor(missing) { this.missing = missing; } }',
    );
    Inject(Missing)(Worker, undefined, 0);

    const named = pluginBootError(await bootError(plugin), modules);

    expect(named).toBeInstanceOf(PluginLoadError);
    expect(named?.message).toBe(
      "plug-in ./unresolved.mjs: Nest can't resolve dependencies of the Worker (?). Please make sure that the argument Missing at index [0] is available in the WorkerPlugin module. Add what it injects to the plug-in module's providers (or import a module that exports it); of Junction's own services, a plug-in can inject only PartnerHttpClient.",
    );
  });

  it('names the plug-in and the class when a plug-in class throws at boot', async () => {
    const { modules, plugin } = await loadWorkerPlugin(
      'throws.mjs',
      "class Worker { constructor() { throw new Error('WORKER_TOKEN is not set'); } }",
    );

    const named = pluginBootError(await bootError(plugin), modules);

    expect(named?.message).toBe(
      'plug-in ./throws.mjs: Worker could not be created: WORKER_TOKEN is not set (fix the plug-in or its settings, or take it out of JUNCTION_PLUGINS)',
    );
    expect((named?.cause as Error).message).toBe('WORKER_TOKEN is not set');
  });

  it("leaves an error about none of the plug-ins' classes as it is", async () => {
    const { modules } = await loadWorkerPlugin('innocent.mjs', 'class Worker {}');
    class Needed {}
    @Injectable()
    class BuiltIn {
      constructor(@Inject(Needed) readonly needed: Needed) {}
    }
    @Module({ providers: [BuiltIn] })
    class BuiltInModule {}

    expect(pluginBootError(await bootError(BuiltInModule), modules)).toBeUndefined();
    expect(pluginBootError(new Error('the database is down'), modules)).toBeUndefined();
  });
});
