/**
 * What the benchmarks that call a peer share: the peer (a fake partner, a webhook receiver) in a
 * child process of its own, the raw undici baseline against it, and the wait until Junction has
 * finished the work.
 */
import { fork } from 'node:child_process';
import type { DataSource } from 'typeorm';
import { Agent } from 'undici';

export interface PeerProcess {
  url: string;
  /** Sends `question` to the peer and resolves with its answer. */
  ask: <T>(question: unknown) => Promise<T>;
  stop: () => void;
}

/**
 * Forks `script` with `role` as its argument; the child serves the peer, sends `{ url }` once it
 * listens, and answers each later message with one of its own. A process of its own, so the peer
 * does not share the event loop it is measured against.
 */
export async function startPeerProcess(script: string, role: string): Promise<PeerProcess> {
  const child = fork(script, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the ${role} exited with ${code}`)));
  });
  return {
    url,
    ask: <T>(question: unknown) =>
      new Promise<T>((resolve) => {
        child.once('message', (message) => resolve(message as T));
        child.send(question as object);
      }),
    stop: () => child.kill(),
  };
}

/**
 * The entry of a benchmark whose peer is the same script forked with `role` as its argument (see
 * `startPeerProcess`): runs `serve` in the peer, `main` otherwise. A failing peer exits at once.
 */
export function servePeerOrRun(role: string, serve: () => Promise<void>, main: () => Promise<void>): void {
  if (process.argv[2] === role) {
    serve().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    main().catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}

/**
 * Raw undici with keep-alive: `total` POSTs to `url` + `path`, `concurrency` in flight, each
 * answered `status`. Answers requests per second.
 */
export async function rawPosts(options: {
  url: string;
  path: string;
  total: number;
  concurrency: number;
  status: number;
  request: (n: number) => { headers: Record<string, string>; body: string };
}): Promise<number> {
  const agent = new Agent();
  const origin = new URL(options.url).origin;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.total) {
        const { headers, body } = options.request(next++);
        const response = await agent.request({ origin, path: options.path, method: 'POST', headers, body });
        await response.body.dump();
        if (response.statusCode !== options.status)
          throw new Error(`raw POST answered ${response.statusCode}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return options.total / seconds;
}

const POLL_MS = 100;
const STALL_MS = 60_000;

/**
 * Polls the rows of `table` by status until `total` have `succeeded`; fails when one has
 * `failedStatus`, or when the count has not moved for a minute. Both counts are index-only (a
 * status index), so polling does not stall the worker with a scan.
 */
export async function untilSucceeded(
  dataSource: DataSource,
  table: string,
  failedStatus: string,
  total: number,
  what: string,
): Promise<void> {
  let done = 0;
  let movedAt = Date.now();
  while (done < total) {
    await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS));
    const [row] = await dataSource.query<{ n: number; failed: number }[]>(
      `SELECT (SELECT count(*) FROM ${table} WHERE status = 'succeeded') AS n,
              (SELECT count(*) FROM ${table} WHERE status = '${failedStatus}') AS failed`,
    );
    if (Number(row.failed) > 0) throw new Error(`${row.failed} ${what} failed`);
    if (Number(row.n) !== done) movedAt = Date.now();
    done = Number(row.n);
    if (Date.now() - movedAt > STALL_MS) throw new Error(`stuck at ${done} of ${total} ${what}`);
  }
}
