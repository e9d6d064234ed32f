import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { DynamicModule, ForwardReference, Type } from '@nestjs/common';
import { markPluginOrigin } from '../common/plugin-origin.js';
import type { PluginSpec } from '../config/app-config.js';
import { PluginHostModule } from './plugin-host.module.js';

/** Thrown at boot for a plug-in that cannot be used; the message names it: `plug-in <file>: <reason>`. */
export class PluginLoadError extends Error {
  constructor(
    readonly plugin: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`plug-in ${plugin}: ${reason}`, options);
    this.name = 'PluginLoadError';
  }
}

export type PluginModule = Type | DynamicModule;

/** The keys `@Module({...})` stores its metadata under; a class with none of them is no module. */
const MODULE_METADATA_KEYS = ['imports', 'providers', 'controllers', 'exports'];

/**
 * Imports every plug-in of `JUNCTION_PLUGINS` in order and returns the Nest modules to add to the
 * application (with the module plug-ins inject from, when there are any). A plug-in's module is
 * its default export, or else its only named export that is a module.
 */
export async function loadPlugins(plugins: readonly PluginSpec[]): Promise<PluginModule[]> {
  const modules: PluginModule[] = [];
  for (const plugin of plugins) {
    const module = pluginModuleOf(plugin.name, await importPlugin(plugin));
    markModules(module, plugin.name, new Set());
    modules.push(module);
  }
  return modules.length === 0 ? [] : [PluginHostModule, ...modules];
}

async function importPlugin(plugin: PluginSpec): Promise<Record<string, unknown>> {
  if (plugin.kind === 'file' && !fs.existsSync(plugin.path))
    throw new PluginLoadError(plugin.name, `no such file: ${plugin.path}`);
  // A package name resolves from Junction's own installation (its node_modules).
  const specifier = plugin.kind === 'file' ? pathToFileURL(plugin.path).href : plugin.name;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new PluginLoadError(
      plugin.name,
      `cannot be imported: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function pluginModuleOf(name: string, exports: Record<string, unknown>): PluginModule {
  if (isModule(exports.default)) return exports.default;
  const named = Object.entries(exports).filter(
    (entry): entry is [string, PluginModule] => entry[0] !== 'default' && isModule(entry[1]),
  );
  if (named.length === 1) return named[0][1];
  if (named.length === 0) {
    throw new PluginLoadError(
      name,
      'exports no Nest module: export a class marked @Module({ providers: [...] }), as its default export',
    );
  }
  throw new PluginLoadError(
    name,
    `exports several Nest modules (${named.map(([key]) => key).join(', ')}); make the one to load its default export`,
  );
}

function isModule(value: unknown): value is PluginModule {
  if (typeof value === 'function')
    return MODULE_METADATA_KEYS.some((key) => Reflect.hasOwnMetadata(key, value));
  return typeof value === 'object' && value !== null && typeof (value as DynamicModule).module === 'function';
}

/** Marks the plug-in's module and every module it imports, so boot errors about its classes name it. */
function markModules(
  entry: PluginModule | ForwardReference | Promise<DynamicModule> | undefined,
  plugin: string,
  seen: Set<unknown>,
): void {
  if (!entry || entry instanceof Promise || seen.has(entry)) return;
  seen.add(entry);
  if ('forwardRef' in entry) {
    markModules((entry.forwardRef as () => PluginModule)(), plugin, seen);
    return;
  }
  const moduleClass = typeof entry === 'function' ? entry : entry.module;
  markPluginOrigin(moduleClass, plugin);
  const imports = [
    ...((Reflect.getOwnMetadata('imports', moduleClass) as DynamicModule['imports']) ?? []),
    ...(typeof entry === 'function' ? [] : (entry.imports ?? [])),
  ];
  for (const imported of imports) markModules(imported, plugin, seen);
}
