import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ACCOUNT_ROLES } from '../common/auth/account-roles.js';
import type { AccountRole } from '../common/auth/account-roles.js';
import { CLI_PRINCIPAL, withApplication } from './application.js';
import { CliError } from './cli-error.js';

interface CreateKeyOptions {
  email?: string;
  role?: AccountRole;
  name: string;
}

@SubCommand({
  name: 'create',
  description:
    'Create an API key for the account with this email, creating the account (with --role) if there is none. The key is printed once, alone on stdout; details go to stderr',
})
export class KeysCreateCommand extends CommandRunner {
  @Option({ flags: '--email <email>', description: "the account's email", required: true })
  parseEmail(value: string): string {
    return value;
  }

  @Option({
    flags: '--role <role>',
    description: 'the role of a new account; for an existing one it must be its role',
    choices: [...ACCOUNT_ROLES],
  })
  parseRole(value: string): string {
    return value;
  }

  @Option({ flags: '--name <name>', description: "the key's name, shown in key lists", defaultValue: 'cli' })
  parseName(value: string): string {
    return value;
  }

  async run(_params: string[], options: CreateKeyOptions): Promise<void> {
    const email = options.email ?? '';
    const { key, details } = await withApplication(
      async (app) => {
        const [{ AccountsService }, { ApiKeysService }] = await Promise.all([
          import('../modules/accounts/accounts.service.js'),
          import('../modules/accounts/api-keys.service.js'),
        ]);
        const accounts = app.get(AccountsService, { strict: false });
        const apiKeys = app.get(ApiKeysService, { strict: false });
        let account = await accounts.findByEmail(email);
        let created = false;
        if (!account) {
          if (!options.role)
            throw new CliError(`no account has the email ${email}; give --role to create it`);
          account = await accounts.create({ name: email, email, role: options.role });
          created = true;
        } else if (options.role && options.role !== account.role) {
          throw new CliError(
            `the account ${account.email} has the role ${account.role}, not ${options.role}; change it with PATCH /accounts/${account.id}, or leave --role out`,
          );
        } else if (account.disabled) {
          throw new CliError(
            `the account ${account.email} is disabled; enable it with PATCH /accounts/${account.id}`,
          );
        }
        const made = await apiKeys.create(CLI_PRINCIPAL, account.id, { name: options.name });
        return {
          key: made.key,
          details:
            `${created ? 'created the account' : 'the account'} ${account.email} (${account.role}, id ${account.id}); ` +
            `API key ${made.apiKey.id} named "${made.apiKey.name}" is shown this once`,
        };
      },
      { embeddedQueue: true },
    );
    process.stderr.write(`${details}\n`);
    process.stdout.write(`${key}\n`);
  }
}

@Command({ name: 'keys', description: 'API keys', subCommands: [KeysCreateCommand] })
export class KeysCommand extends CommandRunner {
  run(): Promise<void> {
    // A group alone does nothing: show what it holds and fail, as for an unknown command.
    this.command.help({ error: true });
  }
}
