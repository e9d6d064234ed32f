import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WriteSerializer } from '../../database/write-serializer.js';
import { ReserverService } from './reserver.service.js';
import { SupplyVersionStore } from './supply-version.store.js';

/** Changes to the goods requests could take, announced so that waiting requests are looked at again. */
@Injectable()
export class SupplyService {
  constructor(
    private readonly serializer: WriteSerializer,
    private readonly versions: SupplyVersionStore,
    private readonly reserver: ReserverService,
  ) {}

  /**
   * Call in a write transaction that adds goods a request could take (new or arriving goods,
   * released reservations, cancelled departures), before it touches any goods: it bumps the
   * supply version now and wakes the reserver once the transaction has committed.
   */
  async announceChange(manager: EntityManager): Promise<void> {
    await this.versions.bump(manager);
    this.serializer.afterCommit(manager, () => this.reserver.wake());
  }
}
