import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';

/** One committed change of something a person may be watching: the latest state of `key` in `topic`. */
export interface Change {
  topic: string;
  key: string;
  data: Record<string, unknown>;
}

export type ChangeListener = (changes: Change[]) => void;

/**
 * Changes are gathered this long and sent together, the latest per key, so a busy worker sends a
 * few notifications a second rather than one per job.
 */
const FLUSH_MS = 200;
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7800;
const RELISTEN_MS = 2000;

/**
 * Committed changes, for whoever watches them live (the dashboard's stream). Modules publish what
 * changed once their transaction has committed; listeners get them in batches, the latest state
 * per key. On SQLite, one process by design, changes go from publisher to listener in memory. On
 * PostgreSQL they travel as NOTIFY on a channel of the schema, so a change a worker process made
 * reaches the stream of the process serving the dashboard; a process LISTENs only once something in
 * it subscribes. A change is a hint for a live view, not a record: one lost when a connection drops
 * is not sent again, and a view reads the API after reconnecting.
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly listeners = new Set<ChangeListener>();
  private readonly postgres: { url: string; channel: string } | null;
  private pending = new Map<string, Change>();
  private timer: NodeJS.Timeout | undefined;
  private listening: pg.Client | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {
    const database = config.database;
    this.postgres =
      database.kind === 'postgres' ? { url: database.url, channel: channelOf(database.schema) } : null;
  }

  /**
   * Whether a change published now can reach anyone: always on PostgreSQL (another process may be
   * watching), on SQLite only while a listener is subscribed. Publishers check it before building
   * their changes, so an unwatched hot path costs nothing.
   */
  get active(): boolean {
    return this.postgres !== null || this.listeners.size > 0;
  }

  /** Publishes changes that have committed. */
  publish(changes: Change[]): void {
    if (!this.active || this.closed) return;
    for (const change of changes) {
      const id = `${change.topic}\u0000${change.key}`;
      // Re-inserted, so a batch lists keys in the order of their latest change.
      this.pending.delete(id);
      this.pending.set(id, change);
    }
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Calls `listener` with every batch of changes from now on; returns the way to stop. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.postgres && !this.listening) void this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.relisten);
    this.listeners.clear();
    const client = this.listening;
    this.listening = undefined;
    await client?.end().catch(() => undefined);
  }

  private flush(): void {
    this.timer = undefined;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    if (changes.length === 0) return;
    if (!this.postgres) {
      this.deliver(changes);
      return;
    }
    for (const payload of payloads(changes)) {
      this.dataSource
        .query('SELECT pg_notify($1, $2)', [this.postgres.channel, payload])
        .catch((error: unknown) => this.logger.warn(`could not send changes: ${String(error)}`));
    }
  }

  private deliver(changes: Change[]): void {
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.logger.warn(`a change listener failed: ${String(error)}`);
      }
    }
  }

  /** A connection of its own that LISTENs; a dropped one is opened again while anyone listens. */
  private async listen(): Promise<void> {
    const { url, channel } = this.postgres!;
    const client = new pg.Client({ connectionString: url });
    this.listening = client;
    const retry = () => {
      if (this.listening !== client) return;
      this.listening = undefined;
      void client.end().catch(() => undefined);
      if (this.closed || this.listeners.size === 0) return;
      this.relisten = setTimeout(() => void this.listen(), RELISTEN_MS);
    };
    client.on('notification', (message) => {
      if (message.channel !== channel || !message.payload) return;
      try {
        this.deliver(JSON.parse(message.payload) as Change[]);
      } catch (error) {
        this.logger.warn(`a change notification could not be read: ${String(error)}`);
      }
    });
    client.on('error', (error) => {
      this.logger.warn(`the change feed's connection failed: ${error.message}`);
      retry();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      this.logger.warn(`could not listen for changes: ${String(error)}`);
      retry();
    }
  }
}

/** The NOTIFY channel of a schema: changes of one Junction reach only its own processes. */
function channelOf(schema: string): string {
  return `junction_changes_${schema.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** Changes as JSON arrays, each within PostgreSQL's payload limit; a change too large alone is dropped. */
function payloads(changes: Change[]): string[] {
  const out: string[] = [];
  let batch: string[] = [];
  let size = 2;
  for (const change of changes) {
    const json = JSON.stringify(change);
    const bytes = Buffer.byteLength(json) + 1;
    if (bytes + 2 > MAX_PAYLOAD_BYTES) continue;
    if (batch.length > 0 && size + bytes > MAX_PAYLOAD_BYTES) {
      out.push(`[${batch.join(',')}]`);
      batch = [];
      size = 2;
    }
    batch.push(json);
    size += bytes;
  }
  if (batch.length > 0) out.push(`[${batch.join(',')}]`);
  return out;
}
