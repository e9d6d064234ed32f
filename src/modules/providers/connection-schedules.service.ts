import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WriteSerializer } from '../../database/write-serializer.js';
import { SchedulesService } from '../schedules/schedules.service.js';
import { ConnectionChanges } from './connection-changes.service.js';
import { syncCron } from './connection-settings.js';
import type { Connection } from './connection.entity.js';
import { ProviderRegistry } from './provider.registry.js';

/**
 * The schedules of connections (an `http` connection's pollers, say), kept in step with them in
 * the transaction that changes the connection. They are named `connection:<id>:<key>` and fire
 * only while the connection is active; its `settings.syncEvery` makes one more, `connection:<id>:sync`,
 * which starts a sync of the connection (a `syncs.scheduled` job) while its syncs are not paused. Once the change commits, `ConnectionChanges` announces it.
 */
const SYNC_SCHEDULE_KEY = 'sync';
/** The job a connection's sync schedule fires; the syncs module handles it. */
export const SCHEDULED_SYNC_JOB_TYPE = 'syncs.scheduled';

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
    connection: Pick<Connection, 'id' | 'provider' | 'config' | 'state' | 'settings' | 'syncsPausedAt'>,
  ): Promise<void> {
    const provider = this.registry.find(connection.provider);
    const active = connection.state === 'active';
    const wanted = (provider?.instance.schedules?.(connection) ?? []).map((schedule) => ({
      ...schedule,
      enabled: active,
    }));
    if (connection.settings.syncEvery !== undefined) {
      wanted.push({
        key: SYNC_SCHEDULE_KEY,
        cron: syncCron(connection.settings.syncEvery),
        jobType: SCHEDULED_SYNC_JOB_TYPE,
        payload: { connectionId: connection.id },
        enabled: active && connection.syncsPausedAt === null,
      });
    }
    const prefix = prefixOf(connection.id);
    this.announce(manager, connection.id);
    await this.schedules.reconcile(
      manager,
      prefix,
      wanted.map(({ key, cron, jobType, payload, enabled }) => ({
        name: `${prefix}${key}`,
        cron,
        timezone: 'UTC',
        jobType,
        payload,
        enabled,
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

/** The name of the schedule a connection's `settings.syncEvery` makes. */
export function syncScheduleName(connectionId: string): string {
  return `${prefixOf(connectionId)}${SYNC_SCHEDULE_KEY}`;
}
