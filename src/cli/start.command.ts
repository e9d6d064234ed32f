import { Command, CommandRunner } from 'nest-commander';

let serving = false;

/** Whether `junction start` is running the server, which then outlives the command line's own run. */
export function isServing(): boolean {
  return serving;
}

@Command({
  name: 'start',
  description:
    'Run Junction as `npm start` does: the roles of JUNCTION_ROLES, the HTTP server with the api role; SIGTERM or SIGINT stops it',
})
export class StartCommand extends CommandRunner {
  async run(): Promise<void> {
    serving = true;
    const { start } = await import('../start.js');
    await start();
  }
}
