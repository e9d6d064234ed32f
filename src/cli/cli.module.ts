import { Injectable, Module } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { DoctorCommand } from './doctor.command.js';
import { EventsCommand, EventsReplayCommand } from './events.command.js';
import { JobsCommand, JobsRetryCommand } from './jobs.command.js';
import { KeysCommand, KeysCreateCommand } from './keys.command.js';
import { MigrateCommand } from './migrate.command.js';
import { ResealCommand } from './reseal.command.js';
import { StartCommand } from './start.command.js';

/** Usage lines say `junction`, however the script was started (`node dist/src/cli/main.js`). */
@Injectable()
class ProgramName {
  constructor(@InjectCommander() program: { name(name: string): unknown }) {
    program.name('junction');
  }
}

/**
 * The commands, and nothing else: parsing arguments and `--help` need no configuration or
 * database. A command that needs the application boots it itself (see `withApplication`), and
 * imports what it uses of it when it runs: loading the application takes seconds, so the command
 * files import nothing of it at their top.
 */
@Module({
  providers: [
    ProgramName,
    StartCommand,
    MigrateCommand,
    KeysCommand,
    KeysCreateCommand,
    JobsCommand,
    JobsRetryCommand,
    EventsCommand,
    EventsReplayCommand,
    ResealCommand,
    DoctorCommand,
  ],
})
export class CliModule {}
