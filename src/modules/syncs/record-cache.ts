import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { EntityManager } from 'typeorm';
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
  private readonly logger = new Logger(RecordCache.name);
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES, ttl: MAX_AGE_MS });
  private readonly generations = new Map<string, number>();
  private readonly channel: string;
  private publisher: Redis | undefined;
  private subscriber: Redis | undefined;
  /** Whether this process hears every write: always alone on SQLite, with Redis while subscribed. */
  private hearing: boolean;

  constructor(
    private readonly config: AppConfig,
    private readonly serializer: WriteSerializer,
  ) {
    this.channel = `${config.jobs.redisPrefix}:records`;
    this.hearing = config.database.kind === 'sqlite';
  }

  async onModuleInit(): Promise<void> {
    const url = this.config.redisUrl;
    if (!url) return;
    this.publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    // A failed publish is logged where it happens; the connection's own errors must not go unheard.
    this.publisher.on('error', (error: Error) =>
      this.logger.debug(`record cache publisher: ${error.message}`),
    );
    const subscriber = (this.subscriber = new Redis(url, { lazyConnect: true }));
    subscriber.on('message', (_channel: string, connectionId: string) => this.bump(connectionId));
    // Writes missed while away are unknown: start again empty once subscribed again.
    subscriber.on('close', () => {
      this.hearing = false;
      this.entries.clear();
    });
    subscriber.on('ready', () => {
      this.entries.clear();
      this.hearing = true;
    });
    subscriber.on('error', (error: Error) => this.logger.warn(`record cache channel: ${error.message}`));
    try {
      await subscriber.connect();
      await subscriber.subscribe(this.channel);
      this.hearing = true;
    } catch (error) {
      this.logger.warn(`records are not cached until Redis answers: ${(error as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.hearing = false;
    for (const client of [this.subscriber, this.publisher]) client?.disconnect();
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
    if (this.hearing && (this.generations.get(connectionId) ?? 0) === generation)
      this.entries.set(cacheKey, { generation, record });
    return record;
  }

  /** The connection's records change in this transaction: its entries are dropped once it commits, everywhere. */
  changed(manager: EntityManager, connectionId: string): void {
    this.serializer.afterCommit(manager, () => {
      this.bump(connectionId);
      this.publisher
        ?.publish(this.channel, connectionId)
        .catch((error: Error) =>
          this.logger.warn(`could not tell other processes of a write: ${error.message}`),
        );
    });
  }

  private bump(connectionId: string): void {
    this.generations.set(connectionId, (this.generations.get(connectionId) ?? 0) + 1);
  }
}
