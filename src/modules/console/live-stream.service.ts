import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal.js';
import { roleAtLeast } from '../../common/auth/roles.js';
import type { AccountRole } from '../../common/auth/roles.js';
import { ChangeFeed } from '../../database/change-feed.js';
import type { Change } from '../../database/change-feed.js';
import { JOBS_TOPIC } from '../jobs/jobs.contract.js';
import { SYNC_RUNS_TOPIC } from '../syncs/syncs.service.js';
import { DELIVERIES_TOPIC } from '../webhooks/webhooks.contract.js';
import { ConsoleError } from './console.error.js';

/**
 * The stream's topics, each with the role its API needs to read it: jobs (GET /jobs), sync runs
 * (an account's own for any role, every account's from operator up, as GET /sync-runs/{id}),
 * deliveries (webhook endpoints are admin's).
 */
export const STREAM_TOPICS = {
  [JOBS_TOPIC]: 'viewer',
  [SYNC_RUNS_TOPIC]: 'viewer',
  [DELIVERIES_TOPIC]: 'admin',
} as const satisfies Record<string, AccountRole>;

export type StreamTopic = keyof typeof STREAM_TOPICS;

/** A stream's side of the connection: where its messages go, and how it ends. */
export interface StreamSink {
  send(message: string): void;
  end(): void;
}

/** Comments keep proxies and browsers from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** How long a browser waits before reconnecting a dropped stream. */
const RECONNECT_MS = 2000;

/**
 * Live streams of committed changes (server-sent events), each filtered by its topics and by what
 * its caller may read. A stream is a view's hint to move without reloading; a view that reconnects
 * reads the API again, since changes made while it was away are not replayed.
 */
@Injectable()
export class LiveStreamService implements OnModuleDestroy {
  private readonly open = new Set<() => void>();

  constructor(private readonly feed: ChangeFeed) {}

  /** The topics asked for (all the caller may read when none are named); refuses unknown or forbidden ones. */
  topicsFor(caller: Principal, asked: string | undefined): StreamTopic[] {
    const allowed = (topic: StreamTopic) => roleAtLeast(caller.role, STREAM_TOPICS[topic]);
    const all = Object.keys(STREAM_TOPICS) as StreamTopic[];
    if (!asked) return all.filter(allowed);
    const names = [
      ...new Set(
        asked
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      ),
    ];
    for (const name of names) {
      if (!(name in STREAM_TOPICS))
        throw new ConsoleError('UNKNOWN_TOPIC', `no topic ${name}; the topics are ${all.join(', ')}`);
      if (!allowed(name as StreamTopic)) {
        throw new ConsoleError(
          'TOPIC_FORBIDDEN',
          `topic ${name} needs the ${STREAM_TOPICS[name as StreamTopic]} role; your account has the ${caller.role} role`,
        );
      }
    }
    return names as StreamTopic[];
  }

  /** Streams `topics` to `sink` until `stop` is called or the service shuts down. */
  start(caller: Principal, topics: StreamTopic[], sink: StreamSink): { stop: () => void } {
    const wanted = new Set<string>(topics);
    sink.send(`retry: ${RECONNECT_MS}\nevent: ready\ndata: ${JSON.stringify({ topics })}\n\n`);
    const unsubscribe = this.feed.subscribe((changes) => {
      const visible = changes.filter((change) => wanted.has(change.topic) && mayRead(caller, change));
      if (visible.length === 0) return;
      sink.send(
        visible.map((change) => `event: ${change.topic}\ndata: ${JSON.stringify(change.data)}\n\n`).join(''),
      );
    });
    const heartbeat = setInterval(() => sink.send(': heartbeat\n\n'), HEARTBEAT_MS);
    const stop = () => {
      if (!this.open.delete(stop)) return;
      clearInterval(heartbeat);
      unsubscribe();
      sink.end();
    };
    this.open.add(stop);
    return { stop };
  }

  /** Ends every open stream; browsers reconnect theirs. */
  endAll(): void {
    for (const stop of [...this.open]) stop();
  }

  /** At shutdown the streams end, so the HTTP server can close. */
  onModuleDestroy(): void {
    this.endAll();
  }
}

/** A sync run is its account's, and every account's from operator up. */
function mayRead(caller: Principal, change: Change): boolean {
  if (change.topic !== SYNC_RUNS_TOPIC) return true;
  return change.data.accountId === caller.accountId || roleAtLeast(caller.role, 'operator');
}
