import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
// Not jobs.contract, which loads the jobs module: `--help` lists the choices without it.
import { RETRYABLE_STATUSES } from '../modules/jobs/job-statuses.js';
import type { RetryableStatus } from '../modules/jobs/job-statuses.js';
import { withApplication } from './application.js';

interface RetryOptions {
  status: RetryableStatus;
  type?: string;
}

@SubCommand({
  name: 'retry',
  description:
    'Queue every job in this state (of this type) to run again now, as POST /jobs/retry does; prints how many',
})
export class JobsRetryCommand extends CommandRunner {
  @Option({
    flags: '--status <status>',
    description: 'the state of the jobs to retry',
    choices: [...RETRYABLE_STATUSES],
    required: true,
  })
  parseStatus(value: string): string {
    return value;
  }

  @Option({ flags: '--type <type>', description: 'only jobs of this type' })
  parseType(value: string): string {
    return value;
  }

  async run(_params: string[], options: RetryOptions): Promise<void> {
    const retried = await withApplication(async (app) => {
      const { JobsService } = await import('../modules/jobs/jobs.service.js');
      return app
        .get(JobsService, { strict: false })
        .retryMatching({ status: options.status, type: options.type });
    });
    const which = `${options.status} job${retried === 1 ? '' : 's'}${options.type ? ` of type ${options.type}` : ''}`;
    process.stdout.write(`retried ${retried} ${which}\n`);
  }
}

@Command({ name: 'jobs', description: 'Jobs in the job ledger', subCommands: [JobsRetryCommand] })
export class JobsCommand extends CommandRunner {
  run(): Promise<void> {
    // A group alone does nothing: show what it holds and fail, as for an unknown command.
    this.command.help({ error: true });
  }
}
