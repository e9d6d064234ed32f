import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { AppModule } from './app.module.js';
import { createApp } from './app.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import { PluginLoadError, loadPlugins, pluginBootError } from './plugins/load-plugins.js';
import type { PluginModule } from './plugins/load-plugins.js';

/** A shutdown that takes longer than this (a stuck request) ends the process anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

/**
 * Boots Junction as `npm start` and `junction start` do: the HTTP server when the process has the
 * `api` role, otherwise an application context; a bad configuration or plug-in exits 1 with its message.
 */
export function start(): Promise<void> {
  return boot().catch((error: unknown) => {
    process.stderr.write(
      `Junction did not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}

async function boot(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Junction did not start. ${error.message}\n`);
    process.exit(1);
  }

  let plugins;
  try {
    plugins = await loadPlugins(config.plugins);
  } catch (error) {
    if (!(error instanceof PluginLoadError)) throw error;
    refuse(error);
  }

  let app: INestApplicationContext;
  try {
    app = await open(config, plugins);
  } catch (error) {
    // Nest names the class it could not resolve or create, not the plug-in it came from.
    const pluginError = pluginBootError(error, plugins);
    if (!pluginError) throw error;
    refuse(pluginError);
  }
  stopOnSignals(app);
}

/** Prints why a plug-in stops the boot, and exits 1. */
function refuse(error: PluginLoadError): never {
  // The cause's stack shows where inside the plug-in it failed.
  const cause = error.cause instanceof Error ? `\n${error.cause.stack ?? error.cause.message}` : '';
  process.stderr.write(`Junction did not start. ${error.message}${cause}\n`);
  process.exit(1);
}

/** The HTTP server when the process has the `api` role, otherwise an application context; started. */
async function open(config: AppConfig, plugins: PluginModule[]): Promise<INestApplicationContext> {
  if (config.hasRole('api')) {
    const http = await createApp(config, plugins);
    await http.listen(config.port);
    new Logger('Junction').log(`listening on port ${config.port}; Swagger UI at /docs`);
    return http;
  }
  // Worker-only processes serve no HTTP. A failed boot is thrown here rather than ending the process.
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(config, plugins), {
    bufferLogs: true,
    abortOnError: false,
  });
  new Logger('Junction').log(`started with roles ${[...config.roles].join(',')} and no HTTP server`);
  return context;
}

/** SIGTERM or SIGINT: stop accepting, let in-flight requests finish, close the database, exit 0. */
function stopOnSignals(app: INestApplicationContext): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    new Logger('Junction').log(`${signal}: shutting down`);
    setTimeout(() => {
      process.stderr.write(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
