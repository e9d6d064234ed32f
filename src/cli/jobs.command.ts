import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { hasErrorCode } from '../common/errors/domain-error.js';
import type { JobStatus } from '../modules/jobs/jobs.contract.js';
import { JobsService } from '../modules/jobs/jobs.service.js';
import { withApplication } from './application.js';

/** The states `JobsService.retry` accepts. */
const RETRYABLE = ['dead', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

const PAGE = 200;

interface RetryOptions {
  status: (typeof RETRYABLE)[number];
  type?: string;
}

@SubCommand({
  name: 'retry',
  description:
    'Queue every job in this state (of this type) to run again now, as POST /jobs/{id}/retry does for one; prints how many',
})
export class JobsRetryCommand extends CommandRunner {
  @Option({
    flags: '--status <status>',
    description: 'the state of the jobs to retry',
    choices: [...RETRYABLE],
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
    const counts = await withApplication(async (app) => {
      const jobs = app.get(JobsService, { strict: false });
      const filter = { status: options.status, type: options.type };
      const counted = { retried: 0, changed: 0 };
      let cursor: string | undefined;
      do {
        const page = await jobs.list(filter, { limit: PAGE, cursor });
        for (const job of page.items) {
          try {
            await jobs.retry(job.id);
            counted.retried++;
          } catch (error) {
            // Retried or cancelled by someone else since the page was read: not ours to count.
            if (!hasErrorCode(error, 'JOB_NOT_RETRYABLE')) throw error;
            counted.changed++;
          }
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return counted;
    });
    const which = `${options.status} job${counts.retried === 1 ? '' : 's'}${options.type ? ` of type ${options.type}` : ''}`;
    process.stdout.write(`retried ${counts.retried} ${which}\n`);
    if (counts.changed > 0)
      process.stderr.write(`${counts.changed} changed state meanwhile and were left alone\n`);
  }
}

@Command({ name: 'jobs', description: 'Jobs in the job ledger', subCommands: [JobsRetryCommand] })
export class JobsCommand extends CommandRunner {
  run(): Promise<void> {
    // A group alone does nothing: show what it holds and fail, as for an unknown command.
    this.command.help({ error: true });
  }
}
