import { Injectable } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { EntityManager } from 'typeorm';
import { InvalidationChannel } from '../../common/invalidation-channel.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import type { StoredRecord } from './record.store.js';

/** Records (and misses) kept at most. */
const MAX_ENTRIES = 10_000;
/** How long an entry is trusted at most, should an invalidation from another process be lost. */
const MAX_AGE_MS = 60_000;

interface Entry {
  generation: number;
  record: StoredRecord | null;
}

/**
 * The hot cache of single-record reads (`GET /connections/{id}/records/{externalId}`). Every write
 * to a connection's records moves its generation on once the write commits, which drops its
 * entries; a read that raced a write does not fill. With several processes the writes of others
 * arrive over Redis (a channel under the installation's prefix); on PostgreSQL without Redis no
 * process would hear another's writes, so nothing is cached there.
 */
@Injectable()
export class RecordCache implements OnModuleInit, OnApplicationShutdown {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES, ttl: MAX_AGE_MS });
  private readonly generations = new Map<string, number>();
  private readonly channel: InvalidationChannel;

  constructor(
    private readonly config: AppConfig,
    private readonly serializer: WriteSerializer,
  ) {
    this.channel = new InvalidationChannel(
      `${config.jobs.redisPrefix}:records`,
      'records',
      config.database.kind === 'sqlite',
      { stale: (connectionId) => this.bump(connectionId), gap: () => this.entries.clear() },
    );
  }

  onModuleInit(): Promise<void> {
    return this.channel.open(this.config.redisUrl);
  }

  onApplicationShutdown(): void {
    this.channel.close();
  }

  /** The record from the cache, or loaded (and kept, unless a write came meanwhile). */
  async read(
    connectionId: string,
    key: string,
    load: () => Promise<StoredRecord | null>,
  ): Promise<StoredRecord | null> {
    const cacheKey = `${connectionId}\u0000${key}`;
    const generation = this.generations.get(connectionId) ?? 0;
    const hit = this.entries.get(cacheKey);
    if (hit && hit.generation === generation) return hit.record;
    const record = await load();
    if (this.channel.hearing && (this.generations.get(connectionId) ?? 0) === generation)
      this.entries.set(cacheKey, { generation, record });
    return record;
  }

  /** The connection's records change in this transaction: its entries are dropped once it commits, everywhere. */
  changed(manager: EntityManager, connectionId: string): void {
    this.serializer.afterCommit(manager, () => {
      this.bump(connectionId);
      this.channel.publish(connectionId);
    });
  }

  private bump(connectionId: string): void {
    this.generations.set(connectionId, (this.generations.get(connectionId) ?? 0) + 1);
  }
}
