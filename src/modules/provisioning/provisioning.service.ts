import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import jsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { JobsService } from '../jobs/jobs.service.js';
import { ProjectsService } from '../projects/projects.service.js';
import { ConnectionsService } from '../providers/connections.service.js';
import { ProvidersService } from '../providers/providers.service.js';
import { ServiceBodyDto } from './dto/provisioning-requests.dto.js';
import type { CreateServiceDto, FlavorBodyDto, PatchOperationDto } from './dto/provisioning-requests.dto.js';
import { ProvisioningError } from './provisioning.error.js';
import { ProvisioningStore } from './provisioning.store.js';
import type {
  DetailStatus,
  Flavor,
  FlavorProvider,
  ProviderDetail,
  Service,
  ServiceSpec,
} from './provisioning.store.js';
import { serviceStatus } from './service-status.js';
import type { ServiceStatus } from './service-status.js';

/** The flows' job types; each payload names the service. */
export const PROVISIONING_JOBS = {
  create: 'provisioning.create',
  update: 'provisioning.update',
  delete: 'provisioning.delete',
  purge: 'provisioning.purge',
  action: 'provisioning.service-action',
} as const;

/** A project holds at most this many services unless an admin sets its own limit. */
export const DEFAULT_SERVICE_LIMIT = 20;
/** The paths a PATCH may touch. */
const PATCHABLE = ['/domains', '/origins', '/caching', '/restrictions', '/logDelivery', '/flavorId'];

/** A service as the API shows it: its spec, each provider's part, and the status derived from them. */
export interface ServiceView extends ServiceSpec {
  id: string;
  projectId: string;
  name: string;
  flavorId: string;
  operatorStatus: Service['operatorStatus'];
  providerDetails: Record<string, Omit<ProviderDetail, 'provider'>>;
  status: ServiceStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProviderHealth {
  flavorId: string;
  role: 'cdn' | 'dns';
  provider: string;
  connectionId: string;
  ok: boolean;
  code: string | null;
  message: string;
  durationMs: number;
}

/**
 * Flavors and services. A change answers at once and leaves the work to a flow job enqueued in the
 * same transaction, so a change is never stored without the flow that carries it out.
 */
@Injectable()
export class ProvisioningService {
  constructor(
    private readonly store: ProvisioningStore,
    private readonly projects: ProjectsService,
    private readonly connections: ConnectionsService,
    private readonly providers: ProvidersService,
    private readonly jobs: JobsService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  listFlavors(): Promise<Flavor[]> {
    return this.store.flavors();
  }

  async flavor(id: string): Promise<Flavor> {
    const flavor = await this.store.flavor(id);
    if (!flavor) throw new ProvisioningError('FLAVOR_NOT_FOUND', `no flavor ${id}`);
    return flavor;
  }

  async createFlavor(id: string, body: FlavorBodyDto): Promise<Flavor> {
    await this.checkFlavor(body);
    const now = this.clock.now();
    const flavor: Flavor = { id, ...body, limits: body.limits ?? null, createdAt: now, updatedAt: now };
    await this.serializer.transaction(async (manager) => {
      if (await this.store.flavor(id, manager))
        throw new ProvisioningError('FLAVOR_TAKEN', `a flavor ${id} exists`);
      await this.store.saveFlavor(manager, flavor, true);
    });
    return flavor;
  }

  /**
   * Replaces a flavor's providers; services already on it keep the parts they have until their
   * next update, which follows the flavor.
   */
  async updateFlavor(id: string, body: FlavorBodyDto): Promise<Flavor> {
    await this.checkFlavor(body);
    return this.serializer.transaction(async (manager) => {
      const flavor = await this.store.flavor(id, manager);
      if (!flavor) throw new ProvisioningError('FLAVOR_NOT_FOUND', `no flavor ${id}`);
      const updated = { ...flavor, ...body, limits: body.limits ?? null, updatedAt: this.clock.now() };
      await this.store.saveFlavor(manager, updated, false);
      return updated;
    });
  }

  async deleteFlavor(id: string): Promise<void> {
    await this.serializer.transaction(async (manager) => {
      if (await this.store.flavorInUse(manager, id))
        throw new ProvisioningError('FLAVOR_IN_USE', `services use flavor ${id}; move or delete them first`);
      if (!(await this.store.deleteFlavor(manager, id)))
        throw new ProvisioningError('FLAVOR_NOT_FOUND', `no flavor ${id}`);
    });
  }

  async list(
    caller: Principal,
    projectId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<ServiceView>> {
    await this.projects.get(caller, projectId);
    const page = await this.store.services({ projectId }, limit, cursor);
    const details = await this.store.details(page.items.map((service) => service.id));
    return {
      items: page.items.map((service) => view(service, details.get(service.id) ?? [])),
      nextCursor: page.nextCursor,
    };
  }

  async get(caller: Principal, projectId: string, serviceId: string): Promise<ServiceView> {
    await this.projects.get(caller, projectId);
    const service = await this.store.service(serviceId);
    if (!service || service.projectId !== projectId)
      throw new ProvisioningError('SERVICE_NOT_FOUND', `project ${projectId} has no service ${serviceId}`);
    return view(service, (await this.store.details([serviceId])).get(serviceId) ?? []);
  }

  async create(caller: Principal, projectId: string, input: CreateServiceDto): Promise<ServiceView> {
    await this.projects.get(caller, projectId);
    const flavor = await this.flavor(input.flavorId).catch(() => {
      throw invalid([{ field: 'flavorId', problems: [`no flavor ${input.flavorId}`] }]);
    });
    assertDistinctDomains(input);
    const now = this.clock.now();
    const service: Service = {
      id: newId(now.getTime()),
      projectId,
      name: input.name,
      flavorId: flavor.id,
      spec: specOf(input),
      operatorStatus: 'enabled',
      createdAt: now,
      updatedAt: now,
    };
    await this.serializer.transaction(async (manager) => {
      const limit = (await this.store.limit(projectId, manager)) ?? DEFAULT_SERVICE_LIMIT;
      if ((await this.store.countServices(manager, projectId)) >= limit)
        throw new ProvisioningError(
          'LIMIT_REACHED',
          `project ${projectId} holds its limit of ${limit} services`,
        );
      if (await this.store.nameTaken(manager, projectId, service.name))
        throw new ProvisioningError('NAME_TAKEN', `project ${projectId} has a service named ${service.name}`);
      await this.store.insertService(manager, service);
      await this.claimDomains(manager, service);
      for (const { provider } of flavor.providers)
        await this.store.putDetail(manager, service.id, fresh(provider, 'create_in_progress', now));
      await this.jobs.enqueue(
        PROVISIONING_JOBS.create,
        { serviceId: service.id },
        oneAtATime(service.id),
        manager,
      );
    });
    return this.get(caller, projectId, service.id);
  }

  /**
   * Applies a JSON Patch to the parts a team may change, validates the result like a new service,
   * and starts the update flow. Only a deployed or failed service that is enabled can be patched.
   */
  async patch(
    caller: Principal,
    projectId: string,
    serviceId: string,
    operations: PatchOperationDto[],
  ): Promise<ServiceView> {
    const current = await this.get(caller, projectId, serviceId);
    const outside = operations.filter(
      (operation) =>
        ![operation.path, ...(operation.from === undefined ? [] : [operation.from])].every((path) =>
          PATCHABLE.some((allowed) => path === allowed || path.startsWith(`${allowed}/`)),
        ),
    );
    if (outside.length > 0)
      throw new ProvisioningError(
        'INVALID_PATCH',
        `a patch may change only ${PATCHABLE.join(', ')}; not ${outside.map((operation) => operation.path).join(', ')}`,
      );
    if (current.operatorStatus !== 'enabled' || !['deployed', 'failed'].includes(current.status))
      throw new ProvisioningError(
        'NOT_PATCHABLE',
        `service ${serviceId} is ${current.operatorStatus === 'enabled' ? current.status : 'disabled'}; only an enabled service that is deployed or failed can be patched`,
      );
    const document = {
      domains: current.domains,
      origins: current.origins,
      caching: current.caching,
      restrictions: current.restrictions,
      logDelivery: current.logDelivery,
      flavorId: current.flavorId,
    };
    let patched: unknown;
    try {
      patched = jsonPatch.applyPatch(
        jsonPatch.deepClone(document),
        operations as Operation[],
        true,
      ).newDocument;
    } catch (error) {
      throw new ProvisioningError('INVALID_PATCH', `the patch does not apply: ${(error as Error).message}`);
    }
    const body = await checkedBody(patched);
    assertDistinctDomains(body);
    const flavor = await this.flavor(body.flavorId).catch(() => {
      throw invalid([{ field: 'flavorId', problems: [`no flavor ${body.flavorId}`] }]);
    });
    await this.serializer.transaction(async (manager) => {
      const service = await this.store.service(serviceId, manager);
      if (!service) throw new ProvisioningError('SERVICE_NOT_FOUND', `no service ${serviceId}`);
      const removedDomains = service.spec.domains
        .map(({ domain }) => domain)
        .filter((domain) => !body.domains.some((kept) => kept.domain === domain));
      const updated: Service = {
        ...service,
        flavorId: flavor.id,
        spec: specOf(body),
        updatedAt: this.clock.now(),
      };
      await this.store.updateService(manager, updated);
      await this.claimDomains(manager, updated);
      await this.markForUpdate(manager, updated, flavor);
      await this.jobs.enqueue(
        PROVISIONING_JOBS.update,
        { serviceId, removedDomains },
        oneAtATime(serviceId),
        manager,
      );
    });
    return this.get(caller, projectId, serviceId);
  }

  async remove(caller: Principal, projectId: string, serviceId: string): Promise<ServiceView> {
    const current = await this.get(caller, projectId, serviceId);
    if (current.status === 'delete_in_progress') return current;
    await this.serializer.transaction(async (manager) => {
      const now = this.clock.now();
      for (const [provider, detail] of Object.entries(current.providerDetails))
        await this.store.putDetail(manager, serviceId, {
          provider,
          ...detail,
          status: 'delete_in_progress',
          updatedAt: now,
        });
      await this.jobs.enqueue(PROVISIONING_JOBS.delete, { serviceId }, oneAtATime(serviceId), manager);
    });
    return this.get(caller, projectId, serviceId);
  }

  async purge(
    caller: Principal,
    projectId: string,
    serviceId: string,
    url: string | null,
  ): Promise<{ jobId: string }> {
    const current = await this.get(caller, projectId, serviceId);
    if (current.status === 'delete_in_progress' || current.status === 'create_in_progress')
      throw new ProvisioningError('NOT_PURGEABLE', `service ${serviceId} is ${current.status}`);
    const job = await this.jobs.enqueue(PROVISIONING_JOBS.purge, { serviceId, url }, oneAtATime(serviceId));
    return { jobId: job.id };
  }

  async setLimit(
    caller: Principal,
    projectId: string,
    maxServices: number,
  ): Promise<{ projectId: string; maxServices: number }> {
    await this.projects.get(caller, projectId);
    await this.serializer.transaction((manager) => this.store.setLimit(manager, projectId, maxServices));
    return { projectId, maxServices };
  }

  /**
   * Whether each flavor's providers and DNS driver answer: their connections' checks, run now
   * (with the check's own timeout), not Junction's own dependencies, which /health/ready reports.
   */
  async health(): Promise<ProviderHealth[]> {
    const system: Principal = { accountId: 'system', role: 'admin', apiKeyId: 'health' };
    const checks: ProviderHealth[] = [];
    for (const flavor of await this.store.flavors()) {
      for (const [role, entry] of [
        ...flavor.providers.map((provider) => ['cdn', provider] as const),
        ['dns', flavor.dns] as const,
      ]) {
        const outcome = await this.connections
          .test(system, entry.connectionId)
          .catch((error: Error) => ({ ok: false, code: 'NOT_FOUND', message: error.message, durationMs: 0 }));
        checks.push({ flavorId: flavor.id, role, ...entry, ...outcome });
      }
    }
    return checks;
  }

  /** Starts an admin's bulk enable or disable, walked by a job. */
  async startAction(input: {
    action: 'enable' | 'disable';
    projectId?: string;
    serviceIds?: string[];
  }): Promise<{ jobId: string }> {
    if ((input.projectId === undefined) === (input.serviceIds === undefined))
      throw invalid([{ field: 'projectId', problems: ['give either projectId or serviceIds'] }]);
    const job = await this.jobs.enqueue(PROVISIONING_JOBS.action, input);
    return { jobId: job.id };
  }

  /**
   * Enables or disables one service and tells its providers through the update flow. Refused
   * (with the reason) while the service is being created or deleted.
   */
  async setOperatorStatus(serviceId: string, status: Service['operatorStatus']): Promise<void> {
    await this.serializer.transaction(async (manager) => {
      const service = await this.store.service(serviceId, manager);
      if (!service) throw new ProvisioningError('SERVICE_NOT_FOUND', `no service ${serviceId}`);
      const details = (await this.store.details([serviceId], manager)).get(serviceId) ?? [];
      const derived = serviceStatus(details);
      if (derived === 'create_in_progress' || derived === 'delete_in_progress')
        throw new ProvisioningError('NOT_PATCHABLE', `service ${serviceId} is ${derived}`);
      if (service.operatorStatus === status) return;
      const updated = { ...service, operatorStatus: status, updatedAt: this.clock.now() };
      await this.store.updateService(manager, updated);
      await this.markForUpdate(manager, updated, await this.flavor(service.flavorId));
      await this.jobs.enqueue(
        PROVISIONING_JOBS.update,
        { serviceId, removedDomains: [] },
        oneAtATime(serviceId),
        manager,
      );
    });
  }

  /** Every provider of the flavor gets its part updated, or created when it has none; the others' parts go. */
  private async markForUpdate(manager: EntityManager, service: Service, flavor: Flavor): Promise<void> {
    const now = this.clock.now();
    const details = (await this.store.details([service.id], manager)).get(service.id) ?? [];
    const wanted = new Set(flavor.providers.map(({ provider }) => provider));
    for (const { provider } of flavor.providers) {
      const detail = details.find((found) => found.provider === provider);
      const status: DetailStatus = detail?.providerServiceId ? 'update_in_progress' : 'create_in_progress';
      await this.store.putDetail(manager, service.id, {
        ...(detail ?? fresh(provider, status, now)),
        status,
        errorInfo: null,
        updatedAt: now,
      });
    }
    for (const detail of details.filter((found) => !wanted.has(found.provider)))
      await this.store.putDetail(manager, service.id, {
        ...detail,
        status: 'delete_in_progress',
        updatedAt: now,
      });
  }

  private async claimDomains(manager: EntityManager, service: Service): Promise<void> {
    const domains = service.spec.domains.map(({ domain }) => domain);
    const taken = await this.store.takenDomains(manager, domains, service.id);
    if (taken.length > 0)
      throw new ProvisioningError('DOMAIN_TAKEN', `another service has ${taken.join(', ')}`, {
        domains: taken,
      });
    await this.store.setDomains(manager, service.id, domains);
  }

  /** Each provider must be a connection of its provider that is a CDN (a DNS driver for `dns`), and appear once. */
  private async checkFlavor(body: FlavorBodyDto): Promise<void> {
    const problems: { field: string; problems: string[] }[] = [];
    const check = async (field: string, entry: FlavorProvider, capability: 'cdn' | 'dns') => {
      const provider = this.providers.find(entry.provider);
      if (!provider) return problems.push({ field, problems: [`no provider has the key ${entry.provider}`] });
      if (!provider.metadata.capabilities.includes(capability))
        return problems.push({
          field,
          problems: [`provider ${entry.provider} is not a ${capability} driver`],
        });
      const connection = await this.connections.find(entry.connectionId);
      if (!connection || connection.provider !== entry.provider)
        problems.push({
          field,
          problems: [`no ${entry.provider} connection has the id ${entry.connectionId}`],
        });
    };
    for (const [index, entry] of body.providers.entries()) await check(`providers.${index}`, entry, 'cdn');
    await check('dns', body.dns, 'dns');
    const keys = body.providers.map(({ provider }) => provider);
    if (new Set(keys).size !== keys.length)
      problems.push({ field: 'providers', problems: ['each provider may appear once in a flavor'] });
    if (problems.length > 0)
      throw new ProvisioningError('INVALID_FLAVOR', 'the flavor cannot work', problems);
  }
}

/** One service's flows run one at a time, so a delete never races the create it follows. */
function oneAtATime(serviceId: string): { concurrencyKey: string } {
  return { concurrencyKey: `service:${serviceId}` };
}

function fresh(provider: string, status: DetailStatus, now: Date): ProviderDetail {
  return { provider, providerServiceId: null, accessUrls: [], status, errorInfo: null, updatedAt: now };
}

function specOf(body: ServiceBodyDto): ServiceSpec {
  return {
    domains: body.domains.map(({ domain, protocol, certificate }) => ({ domain, protocol, certificate })),
    origins: body.origins.map(({ origin, port, ssl, rules }) => ({ origin, port, ssl, rules })),
    caching: body.caching.map(({ name, ttl, rules }) => ({ name, ttl, rules })),
    restrictions: body.restrictions.map(({ name, type, rules }) => ({ name, type, rules })),
    logDelivery: { enabled: body.logDelivery.enabled },
  };
}

export function view(service: Service, details: ProviderDetail[]): ServiceView {
  return {
    id: service.id,
    projectId: service.projectId,
    name: service.name,
    flavorId: service.flavorId,
    ...service.spec,
    operatorStatus: service.operatorStatus,
    providerDetails: Object.fromEntries(details.map(({ provider, ...detail }) => [provider, detail])),
    status: serviceStatus(details),
    createdAt: service.createdAt,
    updatedAt: service.updatedAt,
  };
}

function assertDistinctDomains(body: { domains: { domain: string }[] }): void {
  const names = body.domains.map(({ domain }) => domain);
  const twice = names.filter((name, index) => names.indexOf(name) !== index);
  if (twice.length > 0)
    throw invalid([{ field: 'domains', problems: [`listed twice: ${twice.join(', ')}`] }]);
}

/** A patched service must pass the checks a new one does. */
async function checkedBody(patched: unknown): Promise<ServiceBodyDto> {
  const body = plainToInstance(ServiceBodyDto, patched);
  const errors = await validate(body, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0)
    throw invalid(
      errors.map((error) => ({
        field: error.property,
        problems: [
          ...Object.values(error.constraints ?? {}),
          ...(error.children?.length ? ['one of its entries is not valid'] : []),
        ],
      })),
    );
  return body;
}

function invalid(details: { field: string; problems: string[] }[]): ProvisioningError {
  return new ProvisioningError(
    'INVALID_SERVICE',
    `the service is not valid: ${details.map((detail) => `${detail.field}: ${detail.problems.join('; ')}`).join(', ')}`,
    details,
  );
}
