import { Injectable } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { EntityManager } from 'typeorm';
import { InvalidationChannel } from '../../common/invalidation-channel.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { ConnectionChanges } from './connection-changes.service.js';
import type { Connection } from './connection.entity.js';

/** Connections kept at most. */
const MAX_ENTRIES = 10_000;
/** How long a connection is trusted at most, should an invalidation from another process be lost. */
const MAX_AGE_MS = 10_000;

/**
 * The connections partner calls read, by id: every job reads its connection to see whether it
 * may call, and reading the row each time cost more than the rest of the call's own work.
 *
 * Every write to a connection passes `written` (ConnectionStore calls it once the write is made),
 * which drops it at once and again when the write commits. On SQLite a read outside the
 * transaction sees the uncommitted row (there is one database connection), so there a connection
 * with a write not yet committed is read but not kept, until a later write to it commits. Changes
 * announced by ConnectionChanges (an account's connections deleted with it) drop it too. With
 * several processes the writes of others arrive over Redis (a channel under the installation's
 * prefix); on PostgreSQL without Redis no process would hear another's writes, so nothing is kept
 * there. OAuth connections are not kept: their tokens are refreshed under them.
 */
@Injectable()
export class ConnectionCache implements OnModuleInit, OnApplicationShutdown {
  private readonly entries = new LRUCache<string, Connection>({ max: MAX_ENTRIES, ttl: MAX_AGE_MS });
  /** Moves on with every write; a read during which it moved does not fill. */
  private version = 0;
  /** On SQLite, connections written by a transaction not known to have committed. */
  private readonly unsettled = new Set<string>();
  private readonly readsUncommitted: boolean;
  private readonly channel: InvalidationChannel;

  constructor(
    private readonly config: AppConfig,
    private readonly serializer: WriteSerializer,
    changes: ConnectionChanges,
  ) {
    this.readsUncommitted = config.database.kind === 'sqlite';
    this.channel = new InvalidationChannel(
      `${config.jobs.redisPrefix}:connections`,
      'connections',
      config.database.kind === 'sqlite',
      { stale: (connectionId) => this.drop(connectionId, false), gap: () => this.entries.clear() },
    );
    changes.listen((connectionId) => this.drop(connectionId, true));
  }

  onModuleInit(): Promise<void> {
    return this.channel.open(this.config.redisUrl);
  }

  onApplicationShutdown(): void {
    this.channel.close();
  }

  /** The connection if the cache holds it; without a promise, which every call would pay for. */
  get(id: string): Connection | undefined {
    return this.entries.get(id);
  }

  /** The connection from the cache, or loaded (and kept, unless a write came meanwhile). */
  async read(id: string, load: () => Promise<Connection | null>): Promise<Connection | null> {
    const hit = this.entries.get(id);
    if (hit) return hit;
    const version = this.version;
    const connection = await load();
    if (
      connection &&
      connection.credentialType !== 'oauth2' &&
      this.channel.hearing &&
      this.version === version &&
      !this.unsettled.has(id)
    ) {
      this.entries.set(id, connection);
    }
    return connection;
  }

  /** The connection is written in `manager`'s transaction: dropped now, and everywhere once it commits. */
  written(manager: EntityManager | undefined, id: string): void {
    if (this.readsUncommitted) this.unsettled.add(id);
    this.drop(id, false);
    this.serializer.afterCommit(manager, () => {
      this.unsettled.delete(id);
      this.drop(id, true);
    });
  }

  private drop(id: string, tellOthers: boolean): void {
    this.version++;
    this.entries.delete(id);
    if (tellOthers) this.channel.publish(id);
  }
}
