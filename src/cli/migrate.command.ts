import { Command, CommandRunner, Option } from 'nest-commander';
import { readConfig } from './application.js';
import { CliError } from './cli-error.js';

interface MigrateOptions {
  show?: boolean;
  revert?: boolean;
}

@Command({
  name: 'migrate',
  description:
    'Apply the pending database migrations (every start does too). --show lists them and exits 1 when any is pending; --revert undoes the last one',
})
export class MigrateCommand extends CommandRunner {
  @Option({
    flags: '--show',
    description: 'list applied and pending migrations; exit code 1 when any is pending',
  })
  parseShow(): boolean {
    return true;
  }

  @Option({ flags: '--revert', description: 'revert the last applied migration' })
  parseRevert(): boolean {
    return true;
  }

  async run(_params: string[], options: MigrateOptions): Promise<void> {
    if (options.show && options.revert) throw new CliError('choose one of --show and --revert');
    const config = readConfig();
    const [{ DataSource, MigrationExecutor }, { dataSourceOptions }, { migrate }, { describeDatabase }] =
      await Promise.all([
        import('typeorm'),
        import('../database/data-source-options.js'),
        import('../database/database.module.js'),
        import('./checks.js'),
      ]);
    const dataSource = new DataSource(dataSourceOptions(config.database));
    try {
      await dataSource.initialize();
    } catch (error) {
      throw new CliError(`cannot open the ${describeDatabase(config.database)}: ${String(error)}`);
    }
    try {
      const executor = new MigrationExecutor(dataSource);
      if (options.show) {
        // Newest first from TypeORM; listed oldest first, in the order they run.
        const applied = (await executor.getExecutedMigrations()).reverse();
        const pending = await executor.getPendingMigrations();
        for (const migration of applied) process.stdout.write(`applied  ${migration.name}\n`);
        for (const migration of pending) process.stdout.write(`pending  ${migration.name}\n`);
        if (pending.length > 0) process.exitCode = 1;
        return;
      }
      if (options.revert) {
        const last = (await executor.getExecutedMigrations())[0];
        if (!last) throw new CliError('no migration has been applied; nothing to revert');
        await dataSource.undoLastMigration({ transaction: 'each' });
        process.stdout.write(`reverted ${last.name}\n`);
        return;
      }
      const applied = await migrate(dataSource);
      for (const migration of applied) process.stdout.write(`applied  ${migration.name}\n`);
      process.stderr.write(
        applied.length === 0
          ? 'the database is up to date\n'
          : `applied ${applied.length} migration${applied.length === 1 ? '' : 's'}\n`,
      );
    } finally {
      await dataSource.destroy();
    }
  }
}
