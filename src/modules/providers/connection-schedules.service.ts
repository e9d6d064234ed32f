import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WriteSerializer } from '../../database/write-serializer.js';
import { SchedulesService } from '../schedules/schedules.service.js';
import { ConnectionChanges } from './connection-changes.service.js';
import type { Connection } from './connection.entity.js';
import { ProviderRegistry } from './provider.registry.js';

/**
 * The schedules of connections (an `http` connection's pollers, say), kept in step with them in
 * the transaction that changes the connection. They are named `connection:<id>:<key>` and fire
 * only while the connection is active. Once the change commits, `ConnectionChanges` announces it.
 */
@Injectable()
export class ConnectionSchedules {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly schedules: SchedulesService,
    private readonly serializer: WriteSerializer,
    private readonly changes: ConnectionChanges,
  ) {}

  async sync(
    manager: EntityManager,
    connection: Pick<Connection, 'id' | 'provider' | 'config' | 'state'>,
  ): Promise<void> {
    const provider = this.registry.find(connection.provider);
    const wanted = provider?.instance.schedules?.(connection) ?? [];
    const prefix = prefixOf(connection.id);
    this.announce(manager, connection.id);
    await this.schedules.reconcile(
      manager,
      prefix,
      wanted.map(({ key, cron, jobType, payload }) => ({
        name: `${prefix}${key}`,
        cron,
        timezone: 'UTC',
        jobType,
        payload,
        enabled: connection.state === 'active',
        overlap: 'skip',
        catchUp: 'skip',
      })),
    );
  }

  /** Deletes a connection's schedules: with the connection, or when its job finds it gone. */
  async remove(manager: EntityManager, connectionId: string): Promise<void> {
    this.announce(manager, connectionId);
    await this.schedules.reconcile(manager, prefixOf(connectionId), []);
  }

  /** Every change to a connection passes here, so this is where the rest of the process hears of it. */
  private announce(manager: EntityManager, connectionId: string): void {
    this.serializer.afterCommit(manager, () => this.changes.changed(connectionId));
  }
}

function prefixOf(connectionId: string): string {
  return `connection:${connectionId}:`;
}
