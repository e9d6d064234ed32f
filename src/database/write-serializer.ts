import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';

/**
 * The one way to run a write transaction. SQLite has one writer, and TypeORM transactions on its
 * single connection must not interleave (a second BEGIN fails with "cannot start a transaction
 * within a transaction"), so on SQLite transactions queue here and run one after another.
 * PostgreSQL runs them concurrently. A transaction started inside another one joins it instead of
 * waiting for it, which would deadlock.
 */
@Injectable()
export class WriteSerializer {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly active = new AsyncLocalStorage<TransactionScope>();
  /** Transactions begun and not yet ended; see `transaction`. */
  private open = 0;
  private readonly serialize: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type === 'better-sqlite3';
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const outer = this.active.getStore();
    if (outer) return work(outer.manager);
    const run = async (): Promise<T> => {
      const afterCommit: (() => void)[] = [];
      this.open++;
      let result: T;
      try {
        result = await this.dataSource.transaction((manager) =>
          this.active.run({ manager, afterCommit }, () => work(manager)),
        );
      } finally {
        // While an AsyncLocalStorage is enabled, Node (20) runs hooks on every promise the process
        // makes, in every flow; between transactions nothing needs the scope, so it is switched
        // off and the next `run` switches it on again. bench:partner: +7 % http.action jobs/s.
        if (--this.open === 0) this.active.disable();
      }
      for (const hook of afterCommit) hook();
      return result;
    };
    if (!this.serialize) return run();
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `hook` once the transaction that `manager` belongs to has committed, or never if it rolls
   * back. A manager outside any transaction of this serializer has nothing to wait for: the hook
   * runs at once.
   */
  afterCommit(manager: EntityManager | undefined, hook: () => void): void {
    const scope = this.active.getStore();
    if (scope && (manager === undefined || scope.manager === manager)) scope.afterCommit.push(hook);
    else hook();
  }
}

interface TransactionScope {
  manager: EntityManager;
  afterCommit: (() => void)[];
}
