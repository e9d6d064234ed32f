import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan, MoreThanOrEqual } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { insertEntities } from '../../database/raw-sql.js';
import { WebhookAttempt } from './webhook-attempt.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import type { DeliveryStatus } from './webhook-delivery.entity.js';

/** Deliveries and their attempts. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class WebhookDeliveryStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  insert(manager: EntityManager, deliveries: WebhookDelivery[]): Promise<void> {
    return insertEntities(manager, WebhookDelivery, deliveries);
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookDelivery | null> {
    return manager.findOneBy(WebhookDelivery, { id });
  }

  page(
    endpointId: string,
    status: DeliveryStatus | undefined,
    page: PageQueryDto,
  ): Promise<Page<WebhookDelivery>> {
    const query = this.dataSource.manager
      .createQueryBuilder(WebhookDelivery, 'delivery')
      .where('delivery.endpoint_id = :endpointId', { endpointId });
    if (status !== undefined) query.andWhere('delivery.status = :status', { status });
    return paginate(query, page);
  }

  attempts(deliveryId: string): Promise<WebhookAttempt[]> {
    return this.dataSource.manager.find(WebhookAttempt, { where: { deliveryId }, order: { attempt: 'ASC' } });
  }

  async update(manager: EntityManager, id: string, changes: Partial<WebhookDelivery>): Promise<void> {
    await manager.update(WebhookDelivery, { id }, changes);
  }

  async addAttempt(manager: EntityManager, attempt: WebhookAttempt): Promise<void> {
    await manager.insert(WebhookAttempt, attempt);
  }

  /** The first pending delivery to this endpoint made before `id`, which an ordered endpoint waits for. */
  earlierPending(endpointId: string, id: string): Promise<WebhookDelivery | null> {
    return this.dataSource.manager.findOne(WebhookDelivery, {
      where: { endpointId, status: 'pending', id: LessThan(id) },
      order: { id: 'ASC' },
    });
  }

  /** The failed deliveries to this endpoint made at or after `since`, oldest first. */
  failedSince(manager: EntityManager, endpointId: string, since: Date): Promise<WebhookDelivery[]> {
    return manager.find(WebhookDelivery, {
      where: { endpointId, status: 'failed', createdAt: MoreThanOrEqual(since) },
      order: { id: 'ASC' },
    });
  }

  /** Makes these deliveries pending again for a resend. */
  async reopen(manager: EntityManager, ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await manager.update(
      WebhookDelivery,
      { id: In(ids) },
      { status: 'pending', nextAttemptAt: at, updatedAt: at },
    );
  }
}
