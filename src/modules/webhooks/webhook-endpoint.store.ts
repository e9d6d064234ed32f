import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, Not } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { WebhookEndpoint } from './webhook-endpoint.entity.js';

/** The webhook endpoint table. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class WebhookEndpointStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async save(manager: EntityManager, endpoint: WebhookEndpoint): Promise<void> {
    await manager.save(WebhookEndpoint, endpoint);
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookEndpoint | null> {
    return manager.findOneBy(WebhookEndpoint, { id });
  }

  page(page: PageQueryDto): Promise<Page<WebhookEndpoint>> {
    return paginate(this.dataSource.manager.createQueryBuilder(WebhookEndpoint, 'endpoint'), page);
  }

  /** The enabled endpoints, in the order they were created. */
  listEnabled(): Promise<WebhookEndpoint[]> {
    return this.dataSource.manager.find(WebhookEndpoint, { where: { enabled: true }, order: { id: 'ASC' } });
  }

  /** Deletes the endpoint and its deliveries; false when there was none. */
  async delete(manager: EntityManager, id: string): Promise<boolean> {
    const { affected } = await manager.delete(WebhookEndpoint, { id });
    return Boolean(affected);
  }

  /**
   * Replaces the sealed secrets and headers with the same values sealed again, unless they
   * changed meanwhile (a rotation); whether it replaced them.
   */
  async replaceSealed(
    manager: EntityManager,
    id: string,
    was: Pick<WebhookEndpoint, 'secretsSealed' | 'headersSealed'>,
    now: Pick<WebhookEndpoint, 'secretsSealed' | 'headersSealed'>,
  ): Promise<boolean> {
    const { affected } = await manager.update(
      WebhookEndpoint,
      { id, secretsSealed: was.secretsSealed, headersSealed: was.headersSealed ?? IsNull() },
      { secretsSealed: now.secretsSealed, headersSealed: now.headersSealed },
    );
    return affected === 1;
  }

  /** Notes a failure: the first since the last success starts the clock. Answers when the failing began. */
  async markFailing(manager: EntityManager, id: string, at: Date): Promise<Date> {
    await manager.update(WebhookEndpoint, { id, failingSince: IsNull() }, { failingSince: at });
    const row = await manager.findOneBy(WebhookEndpoint, { id });
    return row?.failingSince ?? at;
  }

  async markSucceeded(manager: EntityManager, id: string): Promise<void> {
    await manager.update(WebhookEndpoint, { id, failingSince: Not(IsNull()) }, { failingSince: null });
  }

  /** Disables an enabled endpoint; whether this call did it (so it is announced once). */
  async disable(manager: EntityManager, id: string, reason: string, at: Date): Promise<boolean> {
    const { affected } = await manager.update(
      WebhookEndpoint,
      { id, enabled: true },
      { enabled: false, disabledReason: reason, updatedAt: at },
    );
    return affected === 1;
  }
}
