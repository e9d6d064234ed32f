import { Injectable, Logger } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { IsString, IsUUID, Matches } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { EventSubscribers } from '../events/event-subscribers.service.js';
import { EventsService } from '../events/events.service.js';
import { compileEventPattern } from '../events/events.contract.js';
import type { EventSubscriber, PublishedEvent } from '../events/events.contract.js';
import { JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import type { EnqueueRequest } from '../jobs/jobs.service.js';
import { PartnerCallsService } from '../providers/partner-calls.service.js';
import { ProviderError } from '../providers/providers.contract.js';
import type { ProjectContext } from '../providers/providers.contract.js';
import { ProvidersService } from '../providers/providers.service.js';
import { ProjectRecordsService } from './project-records.service.js';
import { ProjectStore } from './project.store.js';
import { PROJECT_SYNC_JOB_TYPE } from './projects.service.js';

/** The job that applies an event of a provider's connection to the projects that use the connection. */
export const PROJECT_EVENT_JOB_TYPE = 'projects.provider-event';

export class ProjectEventPayload {
  @IsUUID()
  eventId!: string;
}

export class ProjectSyncPayload {
  @IsUUID()
  projectId!: string;

  @IsString()
  @Matches(/^[a-z0-9]+(-[a-z0-9]+)*$/)
  provider!: string;
}

const CONNECTION_SOURCE = /^connection:([0-9a-f-]{36})$/;

/**
 * Where providers keep projects current. An event a connection received (a GitHub push, a
 * Jenkins notification) whose name is one of its provider's `projectEvents` becomes, in the
 * event's transaction, a `projects.provider-event` job; one connection's events run one at a time.
 * Their order is not promised (with Bull a later job may be claimed first, and tools retry late),
 * so a provider checks an event that does not follow what it knows against the tool. `projects.sync`
 * asks a provider to catch a project up (its schedule, or `POST /projects/{id}/repositories/sync`).
 */
@Injectable()
export class ProjectProvidersHandler implements EventSubscriber, OnModuleInit {
  private readonly logger = new Logger('Projects');
  private patterns: RegExp[] | null = null;

  constructor(
    private readonly subscribers: EventSubscribers,
    private readonly events: EventsService,
    private readonly providers: ProvidersService,
    private readonly calls: PartnerCallsService,
    private readonly records: ProjectRecordsService,
    private readonly store: ProjectStore,
  ) {}

  onModuleInit(): void {
    this.subscribers.register(this);
  }

  onStored(_manager: EntityManager, events: PublishedEvent[]): Promise<EnqueueRequest[]> {
    this.patterns ??= this.compilePatterns();
    const requests: EnqueueRequest[] = [];
    for (const event of events) {
      const connectionId = CONNECTION_SOURCE.exec(event.source)?.[1];
      if (!connectionId || !this.patterns.some((pattern) => pattern.test(event.name))) continue;
      requests.push({
        type: PROJECT_EVENT_JOB_TYPE,
        payload: { eventId: event.id },
        options: { eventId: event.id, concurrencyKey: `projects:${connectionId}` },
      });
    }
    return Promise.resolve(requests);
  }

  @JobHandler(PROJECT_EVENT_JOB_TYPE, { queue: 'projects', payload: ProjectEventPayload, timeoutMs: 300_000 })
  async onEvent(ctx: JobContext<ProjectEventPayload>): Promise<{ projects: number } | { skipped: string }> {
    const event = await this.events.view(ctx.payload.eventId);
    if (!event) return { skipped: `event ${ctx.payload.eventId} is gone` };
    const connectionId = CONNECTION_SOURCE.exec(event.source)?.[1];
    if (!connectionId) return { skipped: `event ${event.id} did not come from a connection` };
    const usable = await this.calls.usable(connectionId);
    const { connection } = usable;
    const provider = this.providers.get(connection.provider);
    const handles = (provider.metadata.projectEvents ?? []).some((glob) =>
      compileEventPattern(glob)?.test(event.name),
    );
    if (!handles || !provider.instance.onProjectEvent)
      return { skipped: `provider ${connection.provider} does not handle ${event.name}` };
    const projects = (await this.store.settingsOfProvider(connection.provider)).filter(
      ({ settings }) => settings.connectionId === connectionId,
    );
    for (const { projectId, settings } of projects) {
      const projectCtx = await this.context(ctx, projectId, connection.provider, settings, usable);
      await provider.instance.onProjectEvent(projectCtx, {
        id: event.id,
        name: event.name,
        connectionId,
        data: event.data,
      });
    }
    return { projects: projects.length };
  }

  @JobHandler(PROJECT_SYNC_JOB_TYPE, {
    queue: 'projects',
    payload: ProjectSyncPayload,
    timeoutMs: 1_800_000,
    backoff: { baseMs: 5000, factor: 2, maxMs: 300_000 },
  })
  async sync(ctx: JobContext<ProjectSyncPayload>): Promise<{ synced: string } | { skipped: string }> {
    const { projectId, provider: key } = ctx.payload;
    const [found] = await this.store.providerSettings(projectId, key);
    if (!found) return { skipped: `project ${projectId} has no settings for provider ${key}` };
    const provider = this.providers.get(key);
    if (!provider.instance.syncProject)
      throw new ProviderError('PERMANENT', `provider ${key} cannot sync a project`);
    await provider.instance.syncProject(await this.context(ctx, projectId, key, found.settings));
    return { synced: key };
  }

  /**
   * The project as the provider sees it; the connection its settings name is opened if it may be
   * called, unless the caller opened it already (an event's connection, once for all its projects).
   */
  private async context(
    job: JobContext<unknown>,
    projectId: string,
    provider: string,
    settings: Record<string, unknown>,
    opened?: Awaited<ReturnType<PartnerCallsService['usable']>>,
  ): Promise<ProjectContext> {
    const connectionId = typeof settings.connectionId === 'string' ? settings.connectionId : null;
    const usable = opened ?? (connectionId ? await this.calls.usable(connectionId) : null);
    return {
      projectId,
      settings,
      connection: usable?.opened ?? null,
      signal: job.signal,
      log: (line) => job.log(line),
      records: this.records.port(projectId, provider),
      request: (request) => {
        if (!usable)
          throw new ProviderError('PERMANENT', `project ${projectId} names no connection for ${provider}`);
        return this.calls.request(usable.connection, usable.opened, job, request);
      },
    };
  }

  private compilePatterns(): RegExp[] {
    const patterns: RegExp[] = [];
    for (const { metadata } of this.providers.list()) {
      for (const glob of metadata.projectEvents ?? []) {
        const pattern = compileEventPattern(glob);
        if (pattern) patterns.push(pattern);
        else this.logger.warn(`provider ${metadata.key}: "${glob}" in projectEvents is not an event pattern`);
      }
    }
    return patterns;
  }
}
