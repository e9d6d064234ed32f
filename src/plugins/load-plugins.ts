import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { PLUGIN_ORIGIN_METADATA, markPluginOrigin } from '../common/plugin-origin.js';
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
    markModules(module, plugin.name);
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
function markModules(module: PluginModule, plugin: string): void {
  eachModule(module, new Set(), (moduleClass) => {
    markPluginOrigin(moduleClass, plugin);
    return true;
  });
}

type ModuleEntry = NonNullable<DynamicModule['imports']>[number] | undefined;

/** Calls `visit` on `entry`'s module class and, while it returns true, on the modules it imports. */
function eachModule(
  entry: ModuleEntry,
  seen: Set<unknown>,
  visit: (moduleClass: Type, entry: PluginModule) => boolean,
): void {
  if (!entry || entry instanceof Promise || seen.has(entry)) return;
  seen.add(entry);
  if ('forwardRef' in entry) {
    eachModule((entry.forwardRef as () => PluginModule)(), seen, visit);
    return;
  }
  const moduleClass = typeof entry === 'function' ? entry : entry.module;
  if (!visit(moduleClass, entry)) return;
  const imports = [
    ...((Reflect.getOwnMetadata('imports', moduleClass) as DynamicModule['imports']) ?? []),
    ...(typeof entry === 'function' ? [] : (entry.imports ?? [])),
  ];
  for (const imported of imports) eachModule(imported, seen, visit);
}

/** Nest's message for a class it cannot create because a dependency is missing; names the class. */
const UNRESOLVED_MESSAGE = /^Nest can't resolve dependencies of the (\S+) \(/;
/** A stack frame in a class: `at new Name (` or `at Name.method (`. */
const CLASS_FRAME = /^\s*at (?:async )?(?:new ([\w$]+)|([\w$]+)\.([\w$]+)) \(/gm;

/**
 * The plug-in a boot error came from, as a PluginLoadError that names it, or undefined when no
 * plug-in's class is in it. Nest names the class it cannot resolve but not the plug-in, and an
 * error a plug-in's constructor or lifecycle hook throws names neither; both are found by the
 * class names of the plug-ins' modules and providers (`modules` is what `loadPlugins` returned).
 */
export function pluginBootError(
  error: unknown,
  modules: readonly PluginModule[],
): PluginLoadError | undefined {
  if (!(error instanceof Error) || error instanceof PluginLoadError) return undefined;
  const plugins = pluginsByClassName(modules);
  const unresolved = UNRESOLVED_MESSAGE.exec(error.message)?.[1];
  if (unresolved !== undefined) {
    const plugin = plugins.get(unresolved);
    if (plugin === undefined) return undefined;
    // Nest's first paragraph says what is missing and where; the rest is general advice.
    const reason = error.message.split('\n\n')[0];
    return new PluginLoadError(
      plugin,
      `${reason} Add what it injects to the plug-in module's providers (or import a module that exports it); of Junction's own services, a plug-in can inject only PartnerHttpClient.`,
    );
  }
  for (const [, created, owner, method] of error.stack?.matchAll(CLASS_FRAME) ?? []) {
    const plugin = plugins.get(created ?? owner);
    if (plugin === undefined) continue;
    const failed = created === undefined ? `${owner}.${method}() failed` : `${created} could not be created`;
    return new PluginLoadError(
      plugin,
      `${failed}: ${error.message} (fix the plug-in or its settings, or take it out of JUNCTION_PLUGINS)`,
      { cause: error },
    );
  }
  return undefined;
}

/** Every module and provider class name of the plug-ins, with the plug-in it came from. */
function pluginsByClassName(modules: readonly PluginModule[]): Map<string, string> {
  const plugins = new Map<string, string>();
  const add = (name: string, plugin: string) => {
    if (!plugins.has(name)) plugins.set(name, plugin);
  };
  const seen = new Set<unknown>();
  for (const module of modules) {
    eachModule(module, seen, (moduleClass, entry) => {
      const plugin = Reflect.getOwnMetadata(PLUGIN_ORIGIN_METADATA, moduleClass) as string | undefined;
      // Junction's own modules (the plug-in host) are no plug-in's.
      if (plugin === undefined) return false;
      add(moduleClass.name, plugin);
      const providers = [
        ...((Reflect.getOwnMetadata('providers', moduleClass) as Provider[] | undefined) ?? []),
        ...(typeof entry === 'function' ? [] : (entry.providers ?? [])),
      ];
      for (const provider of providers) {
        for (const name of providerNames(provider)) add(name, plugin);
      }
      return true;
    });
  }
  return plugins;
}

/** The names Nest and stack traces know a provider by: its class, its token, the class it uses. */
function providerNames(provider: Provider): string[] {
  if (typeof provider === 'function') return [provider.name];
  const names: string[] = [];
  if (typeof provider.provide === 'function') names.push(provider.provide.name);
  else if (typeof provider.provide === 'string') names.push(provider.provide);
  if ('useClass' in provider && typeof provider.useClass === 'function') names.push(provider.useClass.name);
  return names;
}
