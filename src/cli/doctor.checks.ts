import * as fs from 'node:fs';
import * as path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource, MigrationExecutor } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { SECRET_KEY_FILE } from '../config/secret-key.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import type { Connection } from '../modules/providers/providers.contract.js';
import { ConnectionsService } from '../modules/providers/connections.service.js';
import { CLI_PRINCIPAL, withApplication } from './application.js';
import { describeDatabase, pingRedis, redisProblem } from './checks.js';

/**
 * `junction doctor`'s checklist: prints one line per check, with how to fix what is wrong;
 * resolves to whether every check passed.
 */
export async function doctor(): Promise<boolean> {
  const checks: Check[] = [];
  const report = (check: Check) => {
    checks.push(check);
    process.stdout.write(`${check.ok ? '✓' : '✗'} ${check.name}: ${check.message}\n`);
  };
  const config = checkConfig(report);
  if (config) {
    const databaseReady = await checkDatabase(config, report);
    const keyReady = checkSecretKey(config, report);
    await checkRedis(config, report);
    if (databaseReady && keyReady) await checkConnections(report);
    else
      report({ ok: false, name: 'connections', message: 'not checked until the problems above are fixed' });
  }
  return checks.every((check) => check.ok);
}

/** One line of the checklist: what was checked and, when it is wrong, what to do. */
interface Check {
  ok: boolean;
  name: string;
  message: string;
}

type Report = (check: Check) => void;

function checkConfig(report: Report): AppConfig | undefined {
  try {
    const config = loadConfig(process.env);
    report({ ok: true, name: 'configuration', message: 'every variable is valid' });
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) {
      report({ ok: false, name: 'configuration', message: `${problem}: fix that variable` });
    }
    return undefined;
  }
}

/** Reachable, and every migration applied (a command boots only then, without changing the schema). */
async function checkDatabase(config: AppConfig, report: Report): Promise<boolean> {
  const name = 'database';
  const where = describeDatabase(config.database);
  const dataSource = new DataSource(dataSourceOptions(config.database));
  try {
    await dataSource.initialize();
  } catch (error) {
    const fix =
      config.database.kind === 'sqlite'
        ? 'check the path and its permissions'
        : 'start it or fix DATABASE_URL';
    report({ ok: false, name, message: `cannot open the ${where} (${String(error)}): ${fix}` });
    return false;
  }
  try {
    await dataSource.query('SELECT 1');
    const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
    if (pending.length > 0) {
      report({
        ok: false,
        name,
        message: `the ${where} lacks ${pending.length} migration${pending.length === 1 ? '' : 's'}: run \`junction migrate\` (every start runs them too)`,
      });
      return false;
    }
    report({ ok: true, name, message: `the ${where} answers and its schema is up to date` });
    return true;
  } catch (error) {
    report({ ok: false, name, message: `the ${where} does not answer queries (${String(error)})` });
    return false;
  } finally {
    await dataSource.destroy();
  }
}

/** The key that opens stored secrets; without one, connections cannot be checked. */
function checkSecretKey(config: AppConfig, report: Report): boolean {
  const name = 'secret key';
  if (config.secretKey) {
    const rotating = config.previousSecretKey
      ? ' (with JUNCTION_SECRET_KEY_PREVIOUS: run `junction reseal`, then unset it)'
      : '';
    report({ ok: true, name, message: `JUNCTION_SECRET_KEY is set${rotating}` });
    return true;
  }
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  if (fs.existsSync(file)) {
    report({ ok: true, name, message: `read from ${file}; keep a backup of it` });
    return true;
  }
  report({
    ok: false,
    name,
    message: `JUNCTION_SECRET_KEY is not set and ${file} does not exist: set JUNCTION_SECRET_KEY (openssl rand -hex 32), or run \`junction start\` once to create the file`,
  });
  return false;
}

async function checkRedis(config: AppConfig, report: Report): Promise<void> {
  if (!config.redisUrl) {
    report({
      ok: true,
      name: 'Redis',
      message: 'REDIS_URL is not set: jobs use the embedded queue in the database',
    });
    return;
  }
  const problem = await pingRedis(config.redisUrl);
  report(
    problem
      ? { ok: false, name: 'Redis', message: redisProblem(config.redisUrl, problem) }
      : { ok: true, name: 'Redis', message: 'answers' },
  );
}

/**
 * Runs every connection's own check, as POST /connections/{id}/test does. RabbitMQ has no setting
 * of its own: its brokers are those of the `amqp` connections, checked the same way.
 */
async function checkConnections(report: Report): Promise<void> {
  try {
    // The checks enqueue nothing, so Redis (checked above) is left out of this boot.
    await withApplication(
      async (app) => {
        const connections = await allConnections(app);
        const brokers = connections.filter((connection) => connection.provider === 'amqp').length;
        report({
          ok: true,
          name: 'RabbitMQ',
          message:
            brokers === 0
              ? 'no amqp connection: nothing to reach'
              : `${brokers} amqp connection${brokers === 1 ? '' : 's'}, checked below`,
        });
        if (connections.length === 0) {
          report({ ok: true, name: 'connections', message: 'none yet' });
          return;
        }
        const service = app.get(ConnectionsService, { strict: false });
        for (const connection of connections) {
          const outcome = await service.test(CLI_PRINCIPAL, connection.id);
          const name = `connection "${connection.name}" (${connection.provider}, ${connection.id})`;
          report(
            outcome.ok
              ? { ok: true, name, message: outcome.message }
              : {
                  ok: false,
                  name,
                  message: `${outcome.code}: ${outcome.message}; ${fixFor(outcome.code, connection.id)}`,
                },
          );
        }
      },
      { embeddedQueue: true },
    );
  } catch (error) {
    report({
      ok: false,
      name: 'connections',
      message: `not checked: the application did not start (${error instanceof Error ? error.message : String(error)})`,
    });
  }
}

/** What to do about a failed check, by the class of its error. */
function fixFor(code: string | null, id: string): string {
  switch (code) {
    case 'TEMPORARY':
    case 'RATE_LIMITED':
      return `make sure the partner is up and reachable from here, or fix its address (PATCH /connections/${id})`;
    case 'AUTH':
      return `give it valid credentials (PATCH /connections/${id})`;
    case null:
    default:
      return `fix its settings or credentials (PATCH /connections/${id}), or delete it`;
  }
}

async function allConnections(app: INestApplicationContext): Promise<Connection[]> {
  const service = app.get(ConnectionsService, { strict: false });
  const all: Connection[] = [];
  let cursor: string | undefined;
  do {
    const page = await service.list(CLI_PRINCIPAL, {}, { limit: 200, cursor });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}
