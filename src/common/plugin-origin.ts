/**
 * Which plug-in a module class came from (`JUNCTION_PLUGINS` names it), set by the plug-in loader
 * on every module of a plug-in, so a boot error about one of its classes names the plug-in's file.
 */
export const PLUGIN_ORIGIN_METADATA = 'junction:plugin-origin';

export function markPluginOrigin(moduleClass: object, plugin: string): void {
  // A module two plug-ins share keeps the first one's name.
  if (!Reflect.hasOwnMetadata(PLUGIN_ORIGIN_METADATA, moduleClass))
    Reflect.defineMetadata(PLUGIN_ORIGIN_METADATA, plugin, moduleClass);
}

/** `label`, followed by `(plug-in <file>)` when `moduleClass` (a provider's host module) is a plug-in's. */
export function withPluginOrigin(label: string, moduleClass: unknown): string {
  if (typeof moduleClass !== 'function') return label;
  const plugin = Reflect.getOwnMetadata(PLUGIN_ORIGIN_METADATA, moduleClass) as string | undefined;
  return plugin === undefined ? label : `${label} (plug-in ${plugin})`;
}
