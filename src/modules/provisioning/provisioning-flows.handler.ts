import { Injectable } from '@nestjs/common';
import { IsArray, IsOptional, IsString, IsUUID } from 'class-validator';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import { DEFERRED_CODE, JobFailure, JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { PartnerCallsService } from '../providers/partner-calls.service.js';
import { isCdnDriver, isDnsDriver, ProviderError } from '../providers/providers.contract.js';
import type {
  CdnDeployment,
  CdnDriver,
  CdnServiceSpec,
  DnsDriver,
  DriverContext,
} from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { PROVISIONING_JOBS } from './provisioning.service.js';
import { ProvisioningStore } from './provisioning.store.js';
import type { Flavor, FlavorProvider, ProviderDetail, Service } from './provisioning.store.js';

/** The seed's policy: at most five tries of a flow, retrying only what a retry may mend. */
const FLOW_TRIES = 5;
const RETRYABLE = new Set(['TEMPORARY', 'RATE_LIMITED']);

export class FlowPayload {
  @IsUUID()
  serviceId!: string;

  /** An update's domains the service no longer has: their DNS records go. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  removedDomains?: string[];

  /** A purge's URL; null purges everything. */
  @IsOptional()
  @IsString()
  url?: string | null;
}

type ErrorInfo = NonNullable<ProviderDetail['errorInfo']>;
/** What a step ended with: the work's value, or the error that made that provider's part fail. */
type Outcome<T> = { ok: T } | { failed: ErrorInfo };

interface FlowResult {
  serviceId: string;
  status: 'deployed' | 'failed' | 'deleted' | 'purged';
  failed: string[];
}

/**
 * The flows that carry out a service's changes at its providers, each step of them a job step
 * (`ctx.step`), so a retried flow resumes after its last finished step and a provider service is
 * never created twice (the CDN driver also finds one an interrupted step made). A TEMPORARY or
 * RATE_LIMITED failure retries the flow after a random base delay in [base, 1.5 base), doubled on
 * each try, at most five tries; after that, or on any other failure, that provider's part is
 * `failed` with the error in `errorInfo`, and `service.failed` is emitted.
 */
@Injectable()
export class ProvisioningFlows {
  constructor(
    private readonly store: ProvisioningStore,
    private readonly calls: PartnerCallsService,
    private readonly providers: ProvidersService,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  @JobHandler(PROVISIONING_JOBS.create, flowOptions())
  create(ctx: JobContext<FlowPayload>): Promise<FlowResult | { skipped: string }> {
    return this.deploy(ctx);
  }

  @JobHandler(PROVISIONING_JOBS.update, flowOptions())
  update(ctx: JobContext<FlowPayload>): Promise<FlowResult | { skipped: string }> {
    return this.deploy(ctx);
  }

  /** At each provider whose part is being created or updated, then DNS for every domain, then the details. */
  private async deploy(ctx: JobContext<FlowPayload>): Promise<FlowResult | { skipped: string }> {
    const loaded = await this.load(ctx.payload.serviceId);
    if (!loaded) return { skipped: `service ${ctx.payload.serviceId} is gone` };
    const { service, flavor, details } = loaded;
    const spec = cdnSpec(service);
    const done = new Map<string, Outcome<CdnDeployment>>();
    for (const detail of details) {
      const entry = flavor.providers.find(({ provider }) => provider === detail.provider);
      if (detail.status === 'delete_in_progress' || !entry) {
        // A provider the flavor no longer has: its part goes.
        const removed = await ctx.step(`remove:${detail.provider}`, () =>
          this.attempt(ctx, detail.provider, async () => {
            if (detail.providerServiceId && entry)
              await this.cdn(entry).then(({ driver, context }) =>
                driver.cdnDelete(context(ctx), detail.providerServiceId!),
              );
            return true;
          }),
        );
        done.set(
          detail.provider,
          'ok' in removed ? { ok: { providerServiceId: '', accessUrls: [] } } : removed,
        );
        continue;
      }
      if (detail.status !== 'create_in_progress' && detail.status !== 'update_in_progress') continue;
      done.set(
        detail.provider,
        await ctx.step(`deploy:${detail.provider}`, () =>
          this.attempt(ctx, detail.provider, async () => {
            const { driver, context } = await this.cdn(entry);
            return detail.providerServiceId
              ? driver.cdnUpdate(context(ctx), detail.providerServiceId, spec)
              : driver.cdnCreate(context(ctx), spec);
          }),
        ),
      );
    }
    const deployments = flavor.providers.flatMap(({ provider }) => {
      const outcome = done.get(provider);
      if (outcome && 'ok' in outcome) return [outcome.ok];
      const kept = details.find((detail) => detail.provider === provider && detail.status !== 'failed');
      return kept?.providerServiceId
        ? [{ providerServiceId: kept.providerServiceId, accessUrls: kept.accessUrls }]
        : [];
    });
    const dns = await ctx.step('dns', () =>
      this.attempt(ctx, flavor.dns.provider, async () => {
        const { driver, context } = await this.dns(flavor.dns);
        for (const { domain } of service.spec.domains) {
          // Each domain points at the first provider of the flavor that serves it.
          const target = deployments
            .flatMap(({ accessUrls }) => accessUrls)
            .find((url) => url.domain === domain);
          if (target) await driver.dnsUpsertCname(context(ctx), domain, target.url);
        }
        for (const domain of ctx.payload.removedDomains ?? [])
          await driver.dnsDeleteCname(context(ctx), domain);
        return true;
      }),
    );
    return this.finish(service, details, done, 'failed' in dns ? dns.failed : null, 'deployed');
  }

  @JobHandler(PROVISIONING_JOBS.delete, flowOptions())
  async delete(ctx: JobContext<FlowPayload>): Promise<FlowResult | { skipped: string }> {
    const loaded = await this.load(ctx.payload.serviceId);
    if (!loaded) return { skipped: `service ${ctx.payload.serviceId} is gone` };
    const { service, flavor, details } = loaded;
    const done = new Map<string, Outcome<CdnDeployment>>();
    for (const detail of details) {
      const entry = flavor.providers.find(({ provider }) => provider === detail.provider);
      const deleted = await ctx.step(`delete:${detail.provider}`, () =>
        this.attempt(ctx, detail.provider, async () => {
          if (detail.providerServiceId && entry) {
            const { driver, context } = await this.cdn(entry);
            await driver.cdnDelete(context(ctx), detail.providerServiceId);
          }
          return true;
        }),
      );
      done.set(
        detail.provider,
        'ok' in deleted ? { ok: { providerServiceId: '', accessUrls: [] } } : deleted,
      );
    }
    const dns = await ctx.step('dns', () =>
      this.attempt(ctx, flavor.dns.provider, async () => {
        const { driver, context } = await this.dns(flavor.dns);
        for (const { domain } of service.spec.domains) await driver.dnsDeleteCname(context(ctx), domain);
        return true;
      }),
    );
    return this.finish(service, details, done, 'failed' in dns ? dns.failed : null, 'deleted');
  }

  @JobHandler(PROVISIONING_JOBS.purge, flowOptions())
  async purge(ctx: JobContext<FlowPayload>): Promise<FlowResult | { skipped: string }> {
    const loaded = await this.load(ctx.payload.serviceId);
    if (!loaded) return { skipped: `service ${ctx.payload.serviceId} is gone` };
    const { service, flavor, details } = loaded;
    const failures = new Map<string, ErrorInfo>();
    for (const detail of details) {
      const entry = flavor.providers.find(({ provider }) => provider === detail.provider);
      if (!entry || !detail.providerServiceId) continue;
      const purged = await ctx.step(`purge:${detail.provider}`, () =>
        this.attempt(ctx, detail.provider, async () => {
          const { driver, context } = await this.cdn(entry);
          await driver.cdnPurge(context(ctx), detail.providerServiceId!, ctx.payload.url ?? null);
          return true;
        }),
      );
      if ('failed' in purged) failures.set(detail.provider, purged.failed);
    }
    if (failures.size === 0) return { serviceId: service.id, status: 'purged', failed: [] };
    const now = this.clock.now();
    await this.serializer.transaction(async (manager) => {
      for (const detail of details.filter(({ provider }) => failures.has(provider)))
        await this.store.putDetail(manager, service.id, {
          ...detail,
          status: 'failed',
          errorInfo: failures.get(detail.provider)!,
          updatedAt: now,
        });
      await this.events.emitOwn(manager, [failedEvent(service, failures)]);
    });
    return { serviceId: service.id, status: 'failed', failed: [...failures.keys()] };
  }

  /**
   * Stores how the flow ended: each provider's part deployed (or removed), or failed with its
   * error; a DNS failure fails the parts it could not point at. A finished deletion removes the service.
   */
  private async finish(
    service: Service,
    details: ProviderDetail[],
    done: Map<string, Outcome<CdnDeployment>>,
    dnsFailure: ErrorInfo | null,
    goal: 'deployed' | 'deleted',
  ): Promise<FlowResult> {
    const now = this.clock.now();
    const failures = new Map<string, ErrorInfo>();
    for (const [provider, outcome] of done) if ('failed' in outcome) failures.set(provider, outcome.failed);
    if (dnsFailure)
      for (const provider of done.keys()) if (!failures.has(provider)) failures.set(provider, dnsFailure);
    const deleted = goal === 'deleted' && failures.size === 0;
    await this.serializer.transaction(async (manager) => {
      if (deleted) {
        await this.store.deleteService(manager, service.id);
        await this.events.emitOwn(manager, [
          {
            name: 'service.deleted',
            data: { service: service.id, project: service.projectId, name: service.name },
          },
        ]);
        return;
      }
      // A deletion asked for while this flow ran keeps its mark; the delete flow, next, reads the ids stored here.
      const current = (await this.store.details([service.id], manager)).get(service.id) ?? [];
      for (const detail of details) {
        const outcome = done.get(detail.provider);
        if (!outcome) continue;
        const failure = failures.get(detail.provider);
        const deleting =
          goal === 'deployed' &&
          current.find(({ provider }) => provider === detail.provider)?.status === 'delete_in_progress';
        if (deleting && 'ok' in outcome) {
          await this.store.putDetail(manager, service.id, {
            ...detail,
            providerServiceId: outcome.ok.providerServiceId,
            accessUrls: outcome.ok.accessUrls,
            status: 'delete_in_progress',
            updatedAt: now,
          });
        } else if (failure) {
          await this.store.putDetail(manager, service.id, {
            ...detail,
            status: 'failed',
            errorInfo: failure,
            updatedAt: now,
          });
        } else if (goal === 'deleted' || detail.status === 'delete_in_progress') {
          await this.store.deleteDetail(manager, service.id, detail.provider);
        } else if ('ok' in outcome) {
          await this.store.putDetail(manager, service.id, {
            ...detail,
            providerServiceId: outcome.ok.providerServiceId,
            accessUrls: outcome.ok.accessUrls,
            status: 'deployed',
            errorInfo: null,
            updatedAt: now,
          });
        }
      }
      await this.events.emitOwn(manager, [
        failures.size > 0
          ? failedEvent(service, failures)
          : {
              name: 'service.deployed',
              data: { service: service.id, project: service.projectId, name: service.name },
            },
      ]);
    });
    return {
      serviceId: service.id,
      status: deleted ? 'deleted' : failures.size > 0 ? 'failed' : 'deployed',
      failed: [...failures.keys()],
    };
  }

  /**
   * Runs one provider's work. A failure a retry may mend retries the flow, until its last try;
   * then, like any other failure, it is that provider's outcome.
   */
  private async attempt<T>(
    ctx: JobContext<FlowPayload>,
    provider: string,
    work: () => Promise<T>,
  ): Promise<Outcome<T>> {
    try {
      return { ok: await work() };
    } catch (error) {
      const code = error instanceof ProviderError ? error.code : 'PERMANENT';
      // A spent rate budget puts the flow back without a try; an abort is the engine's own.
      if (ctx.signal.aborted || code === DEFERRED_CODE) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (RETRYABLE.has(code) && ctx.attempt < ctx.maxAttempts) {
        const retryAfterMs = error instanceof ProviderError ? (error.retryAfterMs ?? 0) : 0;
        throw new JobFailure(
          code,
          `${provider}: ${message}`,
          Math.max(retryAfterMs, this.delay(ctx.attempt)),
        );
      }
      await ctx.log(`${provider} failed for good (${code}): ${message}`);
      return { failed: { code, message, at: this.clock.now().toISOString() } };
    }
  }

  /** The seed's delays: a random base in [base, 1.5 base), doubled for each try before. */
  private delay(attempt: number): number {
    const base = this.config.provisioning.retryBaseMs;
    return Math.round((base + Math.random() * base * 0.5) * 2 ** (attempt - 1));
  }

  private async load(
    serviceId: string,
  ): Promise<{ service: Service; flavor: Flavor; details: ProviderDetail[] } | null> {
    const service = await this.store.service(serviceId);
    if (!service) return null;
    const flavor = await this.store.flavor(service.flavorId);
    if (!flavor) return null;
    return { service, flavor, details: (await this.store.details([serviceId])).get(serviceId) ?? [] };
  }

  private async cdn(
    entry: FlavorProvider,
  ): Promise<{ driver: CdnDriver; context: (ctx: JobContext<unknown>) => DriverContext }> {
    const instance = this.providers.get(entry.provider).instance;
    if (!isCdnDriver(instance))
      throw new ProviderError('PERMANENT', `provider ${entry.provider} is not a CDN driver`);
    return { driver: instance, context: await this.context(entry) };
  }

  private async dns(
    entry: FlavorProvider,
  ): Promise<{ driver: DnsDriver; context: (ctx: JobContext<unknown>) => DriverContext }> {
    const instance = this.providers.get(entry.provider).instance;
    if (!isDnsDriver(instance))
      throw new ProviderError('PERMANENT', `provider ${entry.provider} is not a DNS driver`);
    return { driver: instance, context: await this.context(entry) };
  }

  /** The connection opened for the driver, if it may be called (not paused, not refused). */
  private async context(entry: FlavorProvider): Promise<(ctx: JobContext<unknown>) => DriverContext> {
    const { connection, opened } = await this.calls.usable(entry.connectionId);
    return (ctx) => ({
      connection: opened,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
      request: (request) => this.calls.request(connection, opened, ctx, request),
    });
  }
}

function flowOptions() {
  // The flow's own delays decide when it runs again (see attempt); a crash's retry comes soon.
  return { queue: 'provisioning', maxAttempts: FLOW_TRIES, payload: FlowPayload, timeoutMs: 900_000 };
}

function cdnSpec(service: Service): CdnServiceSpec {
  return {
    serviceId: service.id,
    name: service.name,
    ...service.spec,
    enabled: service.operatorStatus === 'enabled',
  };
}

function failedEvent(service: Service, failures: Map<string, ErrorInfo>) {
  return {
    name: 'service.failed',
    data: {
      service: service.id,
      project: service.projectId,
      name: service.name,
      failures: [...failures].map(([provider, errorInfo]) => ({ provider, errorInfo })),
    },
  };
}
