import { Command, CommandRunner } from 'nest-commander';

@Command({
  name: 'doctor',
  description:
    'Check the configuration, the database, the secret key, Redis, RabbitMQ and every connection; print one line per check, with how to fix what is wrong; exit code 1 when anything is',
})
export class DoctorCommand extends CommandRunner {
  async run(): Promise<void> {
    // The checks load the application: not for `--help` (see withApplication).
    const { doctor } = await import('./doctor.checks.js');
    if (!(await doctor())) process.exitCode = 1;
  }
}
