import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { afterIdOf, encodeCursor } from '../../common/pagination/pagination.js';
import type { Page } from '../../common/pagination/pagination.js';
import { rawSql, readTimestamp, sqlJson, sqlPlaceholders, sqlText } from '../../database/raw-sql.js';
import type { CdnCaching, CdnDomain, CdnOrigin, CdnRestriction } from '../providers/providers.contract.js';

/** A provider a flavor deploys on, through one connection. */
export interface FlavorProvider {
  provider: string;
  connectionId: string;
}

export interface Flavor {
  id: string;
  /** The CDN providers, in the order the flows work through them; the first one's access URL is each domain's CNAME. */
  providers: FlavorProvider[];
  /** The DNS driver that points the domains at the CDN. */
  dns: FlavorProvider;
  limits: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a team asks of a service: everything a POST sets and a PATCH may change, but the flavor. */
export interface ServiceSpec {
  domains: CdnDomain[];
  origins: CdnOrigin[];
  caching: CdnCaching[];
  restrictions: CdnRestriction[];
  logDelivery: { enabled: boolean };
}

export interface Service {
  id: string;
  projectId: string;
  name: string;
  flavorId: string;
  spec: ServiceSpec;
  operatorStatus: 'enabled' | 'disabled';
  createdAt: Date;
  updatedAt: Date;
}

export const DETAIL_STATUSES = [
  'create_in_progress',
  'update_in_progress',
  'delete_in_progress',
  'deployed',
  'failed',
] as const;
export type DetailStatus = (typeof DETAIL_STATUSES)[number];

/** One provider's part of a service. */
export interface ProviderDetail {
  provider: string;
  providerServiceId: string | null;
  accessUrls: { domain: string; url: string }[];
  status: DetailStatus;
  errorInfo: { code: string; message: string; at: string } | null;
  updatedAt: Date;
}

/** Flavors, services, their domains and provider details, and the per-project service limits. */
@Injectable()
export class ProvisioningStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  async flavor(id: string, manager: EntityManager = this.manager): Promise<Flavor | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM flavor WHERE id = ?`, [id]);
    return rows.length === 0 ? null : flavorFromRow(rows[0]);
  }

  async flavors(): Promise<Flavor[]> {
    const { rows } = await rawSql(this.manager, `SELECT * FROM flavor ORDER BY id`);
    return rows.map(flavorFromRow);
  }

  async saveFlavor(manager: EntityManager, flavor: Flavor, insert: boolean): Promise<void> {
    const values = [
      JSON.stringify(flavor.providers),
      JSON.stringify(flavor.dns),
      flavor.limits === null ? null : JSON.stringify(flavor.limits),
      flavor.updatedAt,
    ];
    if (insert)
      await rawSql(
        manager,
        `INSERT INTO flavor (providers, dns, limits, updated_at, created_at, id) VALUES (?, ?, ?, ?, ?, ?)`,
        [...values, flavor.createdAt, flavor.id],
      );
    else
      await rawSql(
        manager,
        `UPDATE flavor SET providers = ?, dns = ?, limits = ?, updated_at = ? WHERE id = ?`,
        [...values, flavor.id],
      );
  }

  async deleteFlavor(manager: EntityManager, id: string): Promise<boolean> {
    const { affected } = await rawSql(manager, `DELETE FROM flavor WHERE id = ?`, [id]);
    return affected > 0;
  }

  async flavorInUse(manager: EntityManager, id: string): Promise<boolean> {
    const { rows } = await rawSql(manager, `SELECT 1 AS used FROM service WHERE flavor_id = ? LIMIT 1`, [id]);
    return rows.length > 0;
  }

  async service(id: string, manager: EntityManager = this.manager): Promise<Service | null> {
    const { rows } = await rawSql(manager, `SELECT * FROM service WHERE id = ?`, [id]);
    return rows.length === 0 ? null : serviceFromRow(rows[0]);
  }

  /** Services by id: a project's, or those of `ids`, or all; a page after the cursor. */
  async services(
    filter: { projectId?: string; ids?: string[] },
    limit: number,
    cursor?: string,
  ): Promise<Page<Service>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      params.push(filter.projectId);
    }
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return { items: [], nextCursor: null };
      where.push(`id IN (${sqlPlaceholders(filter.ids.length)})`);
      params.push(...filter.ids);
    }
    if (cursor !== undefined) {
      where.push('id > ?');
      params.push(afterIdOf(cursor));
    }
    const { rows } = await rawSql(
      this.manager,
      `SELECT * FROM service ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map(serviceFromRow);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor({ after: items[items.length - 1].id }) : null,
    };
  }

  async countServices(manager: EntityManager, projectId: string): Promise<number> {
    const { rows } = await rawSql(manager, `SELECT count(*) AS n FROM service WHERE project_id = ?`, [
      projectId,
    ]);
    return Number(rows[0].n);
  }

  async nameTaken(manager: EntityManager, projectId: string, name: string): Promise<boolean> {
    const { rows } = await rawSql(manager, `SELECT id FROM service WHERE project_id = ? AND name = ?`, [
      projectId,
      name,
    ]);
    return rows.length > 0;
  }

  async insertService(manager: EntityManager, service: Service): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO service (id, project_id, name, flavor_id, spec, operator_status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        service.id,
        service.projectId,
        service.name,
        service.flavorId,
        JSON.stringify(service.spec),
        service.operatorStatus,
        service.createdAt,
        service.updatedAt,
      ],
    );
  }

  async updateService(manager: EntityManager, service: Service): Promise<void> {
    await rawSql(
      manager,
      `UPDATE service SET flavor_id = ?, spec = ?, operator_status = ?, updated_at = ? WHERE id = ?`,
      [service.flavorId, JSON.stringify(service.spec), service.operatorStatus, service.updatedAt, service.id],
    );
  }

  async deleteService(manager: EntityManager, id: string): Promise<void> {
    await rawSql(manager, `DELETE FROM service WHERE id = ?`, [id]);
  }

  /** Which of these domains a service other than `serviceId` holds. */
  async takenDomains(manager: EntityManager, domains: string[], serviceId: string): Promise<string[]> {
    if (domains.length === 0) return [];
    const { rows } = await rawSql(
      manager,
      `SELECT domain FROM service_domain WHERE domain IN (${sqlPlaceholders(domains.length)}) AND service_id <> ?`,
      [...domains, serviceId],
    );
    return rows.map((row) => sqlText(row.domain));
  }

  async setDomains(manager: EntityManager, serviceId: string, domains: string[]): Promise<void> {
    await rawSql(manager, `DELETE FROM service_domain WHERE service_id = ?`, [serviceId]);
    for (const domain of domains)
      await rawSql(manager, `INSERT INTO service_domain (domain, service_id) VALUES (?, ?)`, [
        domain,
        serviceId,
      ]);
  }

  async details(
    serviceIds: string[],
    manager: EntityManager = this.manager,
  ): Promise<Map<string, ProviderDetail[]>> {
    const byService = new Map<string, ProviderDetail[]>();
    if (serviceIds.length === 0) return byService;
    const { rows } = await rawSql(
      manager,
      `SELECT * FROM service_provider WHERE service_id IN (${sqlPlaceholders(serviceIds.length)}) ORDER BY provider`,
      serviceIds,
    );
    for (const row of rows) {
      const id = sqlText(row.service_id);
      byService.set(id, [...(byService.get(id) ?? []), detailFromRow(row)]);
    }
    return byService;
  }

  async putDetail(manager: EntityManager, serviceId: string, detail: ProviderDetail): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO service_provider (service_id, provider, provider_service_id, access_urls, status, error_info, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (service_id, provider) DO UPDATE SET provider_service_id = excluded.provider_service_id,
         access_urls = excluded.access_urls, status = excluded.status, error_info = excluded.error_info,
         updated_at = excluded.updated_at`,
      [
        serviceId,
        detail.provider,
        detail.providerServiceId,
        JSON.stringify(detail.accessUrls),
        detail.status,
        detail.errorInfo === null ? null : JSON.stringify(detail.errorInfo),
        detail.updatedAt,
      ],
    );
  }

  async deleteDetail(manager: EntityManager, serviceId: string, provider: string): Promise<void> {
    await rawSql(manager, `DELETE FROM service_provider WHERE service_id = ? AND provider = ?`, [
      serviceId,
      provider,
    ]);
  }

  async limit(projectId: string, manager: EntityManager = this.manager): Promise<number | null> {
    const { rows } = await rawSql(manager, `SELECT max_services FROM service_limit WHERE project_id = ?`, [
      projectId,
    ]);
    return rows.length === 0 ? null : Number(rows[0].max_services);
  }

  async setLimit(manager: EntityManager, projectId: string, maxServices: number): Promise<void> {
    await rawSql(
      manager,
      `INSERT INTO service_limit (project_id, max_services) VALUES (?, ?)
       ON CONFLICT (project_id) DO UPDATE SET max_services = excluded.max_services`,
      [projectId, maxServices],
    );
  }
}

function flavorFromRow(row: Record<string, unknown>): Flavor {
  return {
    id: sqlText(row.id),
    providers: sqlJson(row.providers) as FlavorProvider[],
    dns: sqlJson(row.dns) as FlavorProvider,
    limits: row.limits === null ? null : (sqlJson(row.limits) as Record<string, unknown>),
    createdAt: readTimestamp(row.created_at)!,
    updatedAt: readTimestamp(row.updated_at)!,
  };
}

function serviceFromRow(row: Record<string, unknown>): Service {
  return {
    id: sqlText(row.id),
    projectId: sqlText(row.project_id),
    name: sqlText(row.name),
    flavorId: sqlText(row.flavor_id),
    spec: sqlJson(row.spec) as ServiceSpec,
    operatorStatus: sqlText(row.operator_status) as Service['operatorStatus'],
    createdAt: readTimestamp(row.created_at)!,
    updatedAt: readTimestamp(row.updated_at)!,
  };
}

function detailFromRow(row: Record<string, unknown>): ProviderDetail {
  return {
    provider: sqlText(row.provider),
    providerServiceId: row.provider_service_id === null ? null : sqlText(row.provider_service_id),
    accessUrls: sqlJson(row.access_urls) as ProviderDetail['accessUrls'],
    status: sqlText(row.status) as DetailStatus,
    errorInfo: row.error_info === null ? null : (sqlJson(row.error_info) as ProviderDetail['errorInfo']),
    updatedAt: readTimestamp(row.updated_at)!,
  };
}
