import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan, MoreThanOrEqual } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { paginate } from '../../common/pagination/pagination.js';
import type { Page, PageQueryDto } from '../../common/pagination/pagination.js';
import { inChunks, rawSql, readTimestamp, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import { WebhookAttempt } from './webhook-attempt.entity.js';
import { WebhookDelivery } from './webhook-delivery.entity.js';
import type { DeliveryStatus } from './webhook-delivery.entity.js';
import type { WebhookEndpoint } from './webhook-endpoint.entity.js';
import { ENDPOINT_COLUMNS, endpointFromRow } from './webhook-endpoint.store.js';

const DELIVERY_COLUMNS = [
  'id',
  'endpoint_id',
  'event_id',
  'event_name',
  'body',
  'status',
  'attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'updated_at',
] as const;
/** Rows per INSERT: under either database's parameter limit. */
const INSERT_CHUNK = 400;

/** A delivery to attempt, and its endpoint (null when it was deleted). */
export interface DeliveryToSend {
  delivery: WebhookDelivery;
  endpoint: WebhookEndpoint | null;
}

/** Where an attempt leaves its delivery. */
export type DeliverySettled = Pick<
  WebhookDelivery,
  'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'updatedAt'
>;

/** Deliveries and their attempts. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class WebhookDeliveryStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Plain SQL: an ingested batch inserts a delivery per event and endpoint, and TypeORM's insert
   * builder costs more per row (it looks each parameter up among all the others) than the write.
   */
  async insert(manager: EntityManager, deliveries: WebhookDelivery[]): Promise<void> {
    const row = `(${sqlPlaceholders(DELIVERY_COLUMNS.length)})`;
    for (const chunk of inChunks(deliveries, INSERT_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO webhook_delivery (${DELIVERY_COLUMNS.join(', ')}) VALUES ${chunk.map(() => row).join(', ')}`,
        chunk.flatMap((d) => [
          d.id,
          d.endpointId,
          d.eventId,
          d.eventName,
          d.body,
          d.status,
          d.attempts,
          d.nextAttemptAt,
          d.lastError,
          d.createdAt,
          d.updatedAt,
        ]),
      );
    }
  }

  /** Plain SQL: TypeORM's query building cost more than the read. */
  async find(id: string, manager: EntityManager = this.dataSource.manager): Promise<WebhookDelivery | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM webhook_delivery WHERE id = ?`, [id]);
    return rows.length === 0 ? null : deliveryFromRow(rows[0]);
  }

  /**
   * Deliveries and their endpoints (null when gone) in one read, by delivery id: every attempt
   * needs both, and attempts starting together read them together. The endpoint is read fresh, not
   * cached, so a change made in any process (disabled, rotated) applies to the next attempt.
   */
  async findWithEndpoints(ids: string[]): Promise<Map<string, DeliveryToSend>> {
    const found = new Map<string, DeliveryToSend>();
    for (const chunk of inChunks(ids, INSERT_CHUNK)) {
      const { rows } = await rawSql(
        this.dataSource.manager,
        `SELECT d.*, ${ENDPOINT_COLUMNS.map((c) => `e.${c} AS e_${c}`).join(', ')}
         FROM webhook_delivery d LEFT JOIN webhook_endpoint e ON e.id = d.endpoint_id
         WHERE d.id IN (${sqlPlaceholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) {
        const delivery = deliveryFromRow(row);
        const endpoint = row.e_id === null || row.e_id === undefined ? null : endpointFromRow(row, 'e_');
        found.set(delivery.id, { delivery, endpoint });
      }
    }
    return found;
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

  /**
   * Where attempts leave their deliveries; plain SQL, as every attempt writes it. Attempts recorded
   * together mostly end alike (succeeded, on their first attempt): those share one UPDATE, so a
   * group costs a statement or two instead of one per delivery.
   */
  async settleMany(manager: EntityManager, settled: { id: string; to: DeliverySettled }[]): Promise<void> {
    const alike = new Map<string, { to: DeliverySettled; ids: string[] }>();
    for (const { id, to } of settled) {
      const key = JSON.stringify([
        to.status,
        to.attempts,
        to.nextAttemptAt?.getTime() ?? null,
        to.lastError,
        to.updatedAt.getTime(),
      ]);
      const group = alike.get(key);
      if (group) group.ids.push(id);
      else alike.set(key, { to, ids: [id] });
    }
    for (const { to, ids } of alike.values()) {
      // An attempt whose job lost its lease may end after the delivery was failed for the job: a
      // retry must not make it pending again, as no job would send it.
      const stillPending = to.status === 'pending' ? ` AND status = 'pending'` : '';
      for (const chunk of inChunks(ids, INSERT_CHUNK)) {
        await rawSql(
          manager,
          `UPDATE webhook_delivery SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ?
           WHERE id IN (${sqlPlaceholders(chunk.length)})${stillPending}`,
          [to.status, to.attempts, to.nextAttemptAt, to.lastError, to.updatedAt, ...chunk],
        );
      }
    }
  }

  async addAttempt(manager: EntityManager, attempt: WebhookAttempt): Promise<void> {
    await this.addAttempts(manager, [attempt]);
  }

  /**
   * Those of these deliveries that still exist, kept from being deleted until the caller's
   * transaction ends, so the attempts it records for them can be kept: an endpoint deleted during
   * an attempt takes its deliveries with it. On PostgreSQL the endpoints are locked first (FOR KEY
   * SHARE, which their deletion waits for but nothing else does), in id order as deletion takes
   * them one at a time, so no deadlock; on SQLite writes run one at a time anyway.
   */
  async lockPresent(
    manager: EntityManager,
    deliveries: readonly Pick<WebhookDelivery, 'id' | 'endpointId'>[],
  ): Promise<Set<string>> {
    const present = new Set<string>();
    if (manager.connection.options.type === 'postgres') {
      const endpointIds = [...new Set(deliveries.map((d) => d.endpointId))].sort();
      for (const chunk of inChunks(endpointIds, INSERT_CHUNK)) {
        await rawSql(
          manager,
          `SELECT id FROM webhook_endpoint WHERE id IN (${sqlPlaceholders(chunk.length)}) ORDER BY id FOR KEY SHARE`,
          chunk,
        );
      }
    }
    for (const chunk of inChunks(
      deliveries.map((d) => d.id),
      INSERT_CHUNK,
    )) {
      const { rows } = await rawSql<{ id: string }>(
        manager,
        `SELECT id FROM webhook_delivery WHERE id IN (${sqlPlaceholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) present.add(String(row.id));
    }
    return present;
  }

  /** The deliveries to an endpoint still pending, whose jobs may still send them. */
  async pendingOf(
    manager: EntityManager,
    endpointId: string,
  ): Promise<Pick<WebhookDelivery, 'id' | 'eventId'>[]> {
    const { rows } = await rawSql(
      manager,
      `SELECT id, event_id FROM webhook_delivery WHERE endpoint_id = ? AND status = 'pending'`,
      [endpointId],
    );
    return rows.map((row) => ({ id: String(row.id), eventId: String(row.event_id) }));
  }

  /** Keeps attempts, many in one statement. */
  async addAttempts(manager: EntityManager, attempts: WebhookAttempt[]): Promise<void> {
    for (const chunk of inChunks(attempts, INSERT_CHUNK)) {
      await rawSql(
        manager,
        `INSERT INTO webhook_attempt (id, delivery_id, attempt, status_code, duration_ms, response, error, started_at)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((attempt) => [
          attempt.id,
          attempt.deliveryId,
          attempt.attempt,
          attempt.statusCode,
          attempt.durationMs,
          attempt.response,
          attempt.error,
          attempt.startedAt,
        ]),
      );
    }
  }

  /** The first pending delivery to this endpoint made before `id`, which an ordered endpoint waits for. */
  earlierPending(endpointId: string, id: string): Promise<WebhookDelivery | null> {
    return this.dataSource.manager.findOne(WebhookDelivery, {
      where: { endpointId, status: 'pending', id: LessThan(id) },
      order: { id: 'ASC' },
    });
  }

  /**
   * Changes a delivery only while it is still pending: a job that ended, or a stopped attempt,
   * must not overwrite what a resend or another job has made of it since.
   */
  async updateIfPending(
    manager: EntityManager,
    id: string,
    changes: Partial<WebhookDelivery>,
  ): Promise<boolean> {
    const result = await manager.update(WebhookDelivery, { id, status: 'pending' }, changes);
    return (result.affected ?? 0) > 0;
  }

  /**
   * The deliveries to this endpoint made at or after `since` that a recovery may send again, oldest
   * first: the failed ones, and the pending ones, of which the caller keeps those no job will send.
   */
  unfinishedSince(endpointId: string, since: Date): Promise<WebhookDelivery[]> {
    return this.dataSource.manager.find(WebhookDelivery, {
      where: { endpointId, status: In(['failed', 'pending']), createdAt: MoreThanOrEqual(since) },
      order: { id: 'ASC' },
    });
  }

  /**
   * Makes deliveries pending again for a resend, each only if it is still as the caller read it,
   * in one conditional statement per kind, so that of two resends or recoveries racing (on
   * PostgreSQL) only one reopens a delivery and enqueues its job: a finished one only while it
   * still has the status read, a pending one that no job will send only while it was not changed
   * since it was read. Returns the ids reopened.
   */
  async reopen(manager: EntityManager, deliveries: WebhookDelivery[], at: Date): Promise<Set<string>> {
    const reopened = new Set<string>();
    const set = `UPDATE webhook_delivery SET status = 'pending', next_attempt_at = ?, updated_at = ?`;
    for (const status of ['failed', 'succeeded'] as const) {
      const ids = deliveries.filter((d) => d.status === status).map((d) => d.id);
      for (const chunk of inChunks(ids, INSERT_CHUNK)) {
        const { rows } = await rawSql<{ id: string }>(
          manager,
          `${set} WHERE id IN (${sqlPlaceholders(chunk.length)}) AND status = ? RETURNING id`,
          [at, at, ...chunk, status],
        );
        for (const row of rows) reopened.add(String(row.id));
      }
    }
    for (const orphan of deliveries.filter((d) => d.status === 'pending')) {
      const { rows } = await rawSql<{ id: string }>(
        manager,
        `${set} WHERE id = ? AND status = 'pending' AND updated_at = ? RETURNING id`,
        [at, at, orphan.id, orphan.updatedAt],
      );
      for (const row of rows) reopened.add(String(row.id));
    }
    return reopened;
  }
}

/** A delivery row read by raw SQL, converted as TypeORM would. */
function deliveryFromRow(row: Record<string, unknown>): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), {
    id: String(row.id),
    endpointId: String(row.endpoint_id),
    eventId: String(row.event_id),
    eventName: sqlText(row.event_name),
    body: sqlText(row.body),
    status: sqlText(row.status) as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: readTimestamp(row.next_attempt_at),
    lastError: row.last_error === null ? null : sqlText(row.last_error),
    createdAt: readTimestamp(row.created_at)!,
    updatedAt: readTimestamp(row.updated_at)!,
  } satisfies WebhookDelivery);
}
