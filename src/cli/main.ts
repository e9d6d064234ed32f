#!/usr/bin/env node
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module.js';
import { isServing } from './start.command.js';
import { StderrLogger } from './application.js';

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };

// nest-commander: commands are Nest providers, so they reach the application's own services the
// way the HTTP API does, and each gets `--help`, required options and choices checked by commander.
await CommandFactory.run(CliModule, {
  cliName: 'junction',
  version,
  logger: new StderrLogger({ logLevels: ['fatal', 'error'] }),
  // What a command throws (a CliError, a refused input) is one line on stderr and exit code 1.
  serviceErrorHandler: (error: Error) => {
    process.stderr.write(`junction: ${error.message}\n`);
    process.exitCode = 1;
  },
});

// `junction start` keeps serving until a signal stops it. Every other command is done here, and
// a client a library left open (a Redis connection reconnecting) must not keep the process alive.
if (!isServing()) process.exit();
