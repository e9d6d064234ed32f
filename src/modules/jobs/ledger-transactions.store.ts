import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { rawSql } from '../../database/raw-sql.js';
import { WriteSerializer } from '../../database/write-serializer.js';

/**
 * Whether a commit waits for the disk. `relaxed` is for claims, outcomes and lease renewals only:
 * if PostgreSQL crashes and loses one of those, the job is found running with an expired lease,
 * or still queued, and runs again, as at-least-once allows. Enqueues and cancels stay fully
 * durable. SQLite ignores it.
 */
export type Durability = 'full' | 'relaxed';

/** For a statement run outside any transaction, so it is a transaction of its own. */
export interface StatementOptions {
  durability?: Durability;
}

const DEADLOCK_RETRIES = 3;

/** How the ledger's stores open write transactions, on either database. */
@Injectable()
export class LedgerTransactions {
  private readonly postgres: boolean;

  constructor(
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.postgres = config.database.kind === 'postgres';
  }

  /** Runs `work` in a write transaction, with the time read once the transaction has begun. */
  run<T>(
    work: (manager: EntityManager, now: Date) => Promise<T>,
    options: { durability: Durability },
  ): Promise<T> {
    return this.serializer.transaction(async (manager) => {
      if (options.durability === 'relaxed' && this.postgres) {
        await rawSql(manager, `SELECT set_config('synchronous_commit', 'off', true)`);
      }
      return work(manager, this.clock.now());
    });
  }
}

/**
 * What a lone statement adds to its WHERE clause to relax its own commit on PostgreSQL (see
 * `Durability`): evaluated once, as an init plan.
 */
export function durabilityCondition(options: StatementOptions): string {
  return options.durability === 'relaxed'
    ? ` AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`
    : '';
}

/** PostgreSQL aborts one of two deadlocked transactions (40P01); running it again succeeds. */
export async function retryOnDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { driverError?: { code?: string } }).driverError?.code;
      if (code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw error;
    }
  }
}
