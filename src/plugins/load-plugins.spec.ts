import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { withPluginOrigin } from '../common/plugin-origin.js';
import type { PluginSpec } from '../config/app-config.js';
import { PluginLoadError, loadPlugins } from './load-plugins.js';
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
