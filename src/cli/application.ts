import { ConsoleLogger } from '@nestjs/common';
import type { INestApplicationContext, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Principal } from '../common/auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { CliError } from './cli-error.js';

/**
 * Who a command acts as in services that authorise their caller: an admin, since whoever can run
 * the command line can read the configuration and the database anyway.
 */
export const CLI_PRINCIPAL: Principal = {
  accountId: '00000000-0000-0000-0000-000000000000',
  role: 'admin',
  apiKeyId: 'junction-cli',
};

type Env = Record<string, string | undefined>;

/** The configuration from the environment; bad values become one line naming each variable. */
export function readConfig(env: Env = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`invalid configuration: ${error.problems.join('; ')}`);
    throw error;
  }
}

/**
 * Boots the application's services on the configured database (running its pending migrations, as
 * every start does), runs `work`, and closes it. The context has the `api` role only: it serves no
 * HTTP, and no worker, scheduler, reserver or planner loop starts, so a command never takes work
 * from the processes that do it. `embeddedQueue` leaves Redis out, for commands that enqueue nothing.
 */
export async function withApplication<T>(
  work: (app: INestApplicationContext) => Promise<T>,
  options: { embeddedQueue?: boolean } = {},
): Promise<T> {
  // A command serves no HTTP, so no request lines to make pretty: no pino-pretty worker either.
  const env: Env = { ...process.env, JUNCTION_ROLES: 'api', LOG_FORMAT: 'json' };
  if (options.embeddedQueue) delete env.REDIS_URL;
  const config = readConfig(env);
  // Loaded here, not at the top: importing the application takes seconds, which `--help` and a
  // mistyped option should not wait for. A command imports the services it uses the same way.
  const [{ AppModule }, { PluginLoadError, loadPlugins, pluginBootError }, { pingRedis, redisProblem }] =
    await Promise.all([
      import('../app.module.js'),
      import('../plugins/load-plugins.js'),
      import('./checks.js'),
    ]);
  // Bull would wait for an unreachable Redis forever; say so at once instead.
  if (config.redisUrl) {
    const problem = await pingRedis(config.redisUrl);
    if (problem) throw new CliError(redisProblem(config.redisUrl, problem));
  }
  let plugins;
  try {
    plugins = await loadPlugins(config.plugins);
  } catch (error) {
    if (error instanceof PluginLoadError) throw new CliError(error.message);
    throw error;
  }
  let app: INestApplicationContext;
  try {
    app = await quietly(() =>
      NestFactory.createApplicationContext(AppModule.forRoot(config, plugins), {
        logger: new StderrLogger({ logLevels: cliLogLevels(config) }),
        // A failed boot comes back here, to be told as the plug-in's when it is one.
        abortOnError: false,
      }),
    );
  } catch (error) {
    const pluginError = pluginBootError(error, plugins);
    if (pluginError) throw new CliError(pluginError.message);
    throw error;
  }
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

/**
 * A command's stdout carries only its result (scripts read `keys create`'s key from it). Booting
 * on an empty database creates the first admin and prints its key on stdout: that goes to stderr.
 */
async function quietly<T>(boot: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr);
  try {
    return await boot();
  } finally {
    process.stdout.write = write;
  }
}

/** Warnings and errors unless LOG_LEVEL asks for more (or less): a command's own output is what matters. */
function cliLogLevels(config: AppConfig): LogLevel[] {
  switch (config.logLevel) {
    case 'silent':
      return [];
    case 'fatal':
      return ['fatal'];
    case 'error':
      return ['fatal', 'error'];
    case 'warn':
    case 'info':
      return ['fatal', 'error', 'warn'];
    case 'debug':
      return ['fatal', 'error', 'warn', 'log', 'debug'];
    case 'trace':
      return ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  }
}

/** Nest's console logger, on stderr for every level, so stdout stays the command's result. */
export class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}
