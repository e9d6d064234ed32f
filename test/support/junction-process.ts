import { spawn } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/** A real Junction process (the built `dist/src/main.js`), for specs that read what it logs. */
export interface JunctionProcess {
  api: () => ReturnType<typeof request>;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  /** SIGTERM, and resolves when it has exited. */
  stop: () => Promise<unknown>;
  /** SIGKILL: no shutdown at all, as when the machine dies; resolves when it has exited. */
  kill: () => Promise<unknown>;
}

/** Starts Junction with `env` (and PATH) on a free port, and resolves once `/health` answers. */
export async function startJunctionProcess(env: Record<string, string>): Promise<JunctionProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.resolve('dist/src/main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const base = request(`http://127.0.0.1:${port}`);
  try {
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      30_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    api: () => base,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
}
