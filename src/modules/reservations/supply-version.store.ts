import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { rawSql } from '../../database/raw-sql.js';

/**
 * The supply version: a counter bumped by every transaction that adds goods a request could take
 * (arrivals, goods entered, reservations released). The reserver notes the version at which it
 * found a request unsatisfiable and looks at it again only once the version has moved.
 *
 * Lock order: writers bump before they touch goods, and the reserver reads with FOR SHARE before
 * it looks for goods. So on PostgreSQL a reserver batch sees either all of a writer's goods and its
 * new version, or neither: it never serves a later request with goods that arrived after it
 * decided an earlier request could not be served. Writers bump through SupplyService only.
 */
@Injectable()
export class SupplyVersionStore {
  async bump(manager: EntityManager): Promise<void> {
    await rawSql(manager, `UPDATE supply_version SET version = version + 1 WHERE name = 'goods'`);
  }

  /** With `lock`, PostgreSQL holds a share lock on the row until the transaction ends. */
  async read(manager: EntityManager, lock: boolean): Promise<number> {
    const share = lock && manager.connection.options.type === 'postgres' ? ' FOR SHARE' : '';
    const { rows } = await rawSql<{ version: number }>(
      manager,
      `SELECT version FROM supply_version WHERE name = 'goods'${share}`,
    );
    return Number(rows[0].version);
  }
}
