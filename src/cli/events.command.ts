import { randomUUID } from 'node:crypto';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import type { EventReplayService } from '../modules/events/event-replay.service.js';
import { withApplication } from './application.js';
import { CliError } from './cli-error.js';

const PAGE = 200;

type EventPosition = NonNullable<Parameters<EventReplayService['replayPage']>[1]>;

interface ReplayOptions {
  pattern: string;
  from: string;
  to: string;
}

@SubCommand({
  name: 'replay',
  description:
    "Route the stored events of a pattern received in [from, to) again with today's routes, as POST /events/replay does, and wait for it; prints what was replayed",
})
export class EventsReplayCommand extends CommandRunner {
  @Option({ flags: '--pattern <pattern>', description: "event names, such as 'order.*'", required: true })
  parsePattern(value: string): string {
    return value;
  }

  @Option({
    flags: '--from <time>',
    description: 'events received at or after, ISO 8601 with a zone (2026-11-24T10:00:00Z)',
    required: true,
  })
  parseFrom(value: string): string {
    return value;
  }

  @Option({
    flags: '--to <time>',
    description: 'events received before, ISO 8601 with a zone',
    required: true,
  })
  parseTo(value: string): string {
    return value;
  }

  async run(_params: string[], options: ReplayOptions): Promise<void> {
    // With class-validator's decorators: loaded when the command runs, not for `--help`.
    const { isIsoTime } = await import('../common/validation/iso-time.decorator.js');
    const isoTime = (flag: string, text: string): Date => {
      if (!isIsoTime(text)) {
        throw new CliError(
          `${flag} must be an ISO 8601 time with a zone, such as 2026-11-24T10:00:00Z (got ${text})`,
        );
      }
      return new Date(text);
    };
    const range = {
      pattern: options.pattern,
      from: isoTime('--from', options.from),
      to: isoTime('--to', options.to),
    };
    if (!(range.from < range.to)) throw new CliError('--from must be before --to');
    const totals = await withApplication(async (app) => {
      const { EventReplayService } = await import('../modules/events/event-replay.service.js');
      const replays = app.get(EventReplayService, { strict: false });
      // Each replayed event's jobs are keyed by this run, so one run never starts a job twice.
      const replayKey = `replay:cli:${randomUUID()}`;
      const counted = { scanned: 0, replayed: 0, jobs: 0 };
      let after: EventPosition | null = null;
      for (;;) {
        const page = await replays.replayPage(range, after, PAGE, replayKey);
        counted.scanned += page.scanned;
        counted.replayed += page.replayed;
        counted.jobs += page.jobs;
        if (!page.last) break;
        after = page.last;
      }
      return counted;
    });
    process.stdout.write(
      `replayed ${totals.replayed} of ${totals.scanned} events received from ${range.from.toISOString()} to ${range.to.toISOString()} matching ${range.pattern}: ${totals.jobs} jobs queued\n`,
    );
  }
}

@Command({ name: 'events', description: 'Stored events', subCommands: [EventsReplayCommand] })
export class EventsCommand extends CommandRunner {
  run(): Promise<void> {
    // A group alone does nothing: show what it holds and fail, as for an unknown command.
    this.command.help({ error: true });
  }
}
