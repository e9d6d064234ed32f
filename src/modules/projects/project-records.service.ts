import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../../common/auth/principal.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import type { Page } from '../../common/pagination/pagination.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { EventIntakeService } from '../events/event-intake.service.js';
import type {
  ProjectBranch,
  ProjectBuild,
  ProjectBuildInput,
  ProjectFeature,
  ProjectFeatureInput,
  ProjectRecordsPort,
  ProjectRepository,
} from '../providers/providers.contract.js';
import { KINDS, ProjectRecordsStore } from './project-records.store.js';
import type { ProjectRecord, ProviderDatum, RecordKind } from './project-records.store.js';
import { ProjectError } from './project.error.js';
import { ProjectStore } from './project.store.js';
import { ProjectsService } from './projects.service.js';

export const BRANCH_UPDATED_EVENT = 'project.branch.updated';
export const FEATURE_UPDATED_EVENT = 'project.feature.updated';

/** A record as read: its fields (or those asked for) and its provider data. */
export type RecordView = Record<string, unknown>;

export interface NewRepository {
  provider: string;
  owner: string;
  name: string;
  url?: string | null;
  active?: boolean;
}

export type NewFeature = ProjectFeatureInput & { provider: string };
export type NewBuild = ProjectBuildInput & { provider: string };

/** Records read whole by providers come in pages of this many. */
const PAGE = 500;

interface BranchPattern {
  pattern: string;
  parent?: string;
}

/**
 * The records a project's tools keep current. Providers write them through the upserts here (core
 * never talks to a tool); members read them, with `?fields=` choosing what each record shows. A
 * branch takes its parent and feature from the first of its provider's branch patterns it matches.
 */
@Injectable()
export class ProjectRecordsService {
  constructor(
    private readonly store: ProjectRecordsStore,
    private readonly projectStore: ProjectStore,
    private readonly projects: ProjectsService,
    private readonly events: EventIntakeService,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
  ) {}

  async list(
    caller: Principal,
    projectId: string,
    kind: RecordKind,
    query: { filters: Record<string, string | boolean>; fields?: string; limit: number; cursor?: string },
  ): Promise<Page<RecordView>> {
    const fields = fieldsOf(kind, query.fields);
    await this.projects.get(caller, projectId);
    const page = await this.store.page(kind, projectId, query.filters, query.limit, query.cursor);
    const data = await this.store.providerData(
      kind,
      page.items.map((record) => record.id),
    );
    return {
      items: page.items.map((record) =>
        project({ ...record, providerData: data.get(record.id) ?? [] }, fields),
      ),
      nextCursor: page.nextCursor,
    };
  }

  /** One record; a feature with its branches per repository, each with its latest build. */
  async get(
    caller: Principal,
    projectId: string,
    kind: RecordKind,
    id: string,
    fields?: string,
  ): Promise<RecordView> {
    const chosen = fieldsOf(kind, fields);
    await this.projects.get(caller, projectId);
    const record = await this.mustFind(kind, projectId, id);
    const data = await this.store.providerData(kind, [id]);
    const view: RecordView = { ...record, providerData: data.get(id) ?? [] };
    if (kind === 'features' && (!chosen || chosen.includes('repositories')))
      view.repositories = await this.branchesOf(projectId, id);
    return project(view, chosen);
  }

  /** A provider's entry on a record (a member or the project's token writes it); shown with the record. */
  async putProviderData(
    caller: Principal,
    projectId: string,
    kind: RecordKind,
    recordId: string,
    datum: Omit<ProviderDatum, 'updatedAt'>,
  ): Promise<ProviderDatum> {
    await this.projects.get(caller, projectId);
    await this.mustFind(kind, projectId, recordId);
    const put = { ...datum, updatedAt: this.clock.now() };
    await this.serializer.transaction((manager) =>
      this.store.putProviderData(manager, projectId, kind, recordId, put),
    );
    return put;
  }

  /** The project's records as one provider writes them: what it adds carries its key. */
  port(projectId: string, provider: string): ProjectRecordsPort {
    return {
      upsertRepository: async (input) =>
        (await this.upsertRepository(projectId, { provider, ...input })) as unknown as ProjectRepository,
      repositories: async () =>
        (await this.all('repositories', projectId, { provider })) as unknown as ProjectRepository[],
      branches: async (repositoryId) =>
        (await this.all('branches', projectId, { repositoryId })) as unknown as ProjectBranch[],
      upsertBranch: async (repositoryId, input) =>
        (await this.upsertBranch(projectId, repositoryId, input)) as unknown as ProjectBranch,
      removeBranch: (repositoryId, name) => this.removeBranch(projectId, repositoryId, name),
      setMerged: (repositoryId, name, merged) => this.setMerged(projectId, repositoryId, name, merged),
      findBranches: async (query) => {
        const filters = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
        return (await this.all('branches', projectId, filters)) as unknown as ProjectBranch[];
      },
      upsertFeature: async (input) =>
        (await this.upsertFeature(projectId, { provider, ...input })) as unknown as ProjectFeature,
      features: async () =>
        (await this.all('features', projectId, { provider })) as unknown as ProjectFeature[],
      upsertBuild: async (input) => {
        await this.upsertBuild(projectId, { provider, ...input });
      },
      build: async (job, number) => {
        const [found] = (await this.store.page('builds', projectId, { provider, job, number }, 1)).items;
        return (found ?? null) as unknown as ProjectBuild | null;
      },
    };
  }

  upsertRepository(projectId: string, input: NewRepository): Promise<ProjectRecord> {
    const key = { provider: input.provider, owner: input.owner, name: input.name };
    return this.upsert('repositories', projectId, key, {
      url: input.url ?? null,
      active: input.active ?? true,
    });
  }

  /**
   * A branch's head as its provider saw it. Parent and feature come from the project's branch
   * patterns for the repository's provider; a new head of a branch linked to a feature is the
   * event `project.branch.updated`.
   */
  async upsertBranch(
    projectId: string,
    repositoryId: string,
    input: { name: string; headSha: string },
  ): Promise<ProjectRecord> {
    const repository = await this.mustFind('repositories', projectId, repositoryId);
    const { parent, featureExternalId } = await this.patternFor(
      projectId,
      String(repository.provider),
      input.name,
    );
    return this.serializer.transaction(async (manager) => {
      const feature = featureExternalId
        ? await this.store.findBy(manager, 'features', projectId, { externalId: featureExternalId })
        : null;
      const before = await this.store.findBy(manager, 'branches', projectId, {
        repositoryId,
        name: input.name,
      });
      const branch = await this.upsert(
        'branches',
        projectId,
        { repositoryId, name: input.name },
        { headSha: input.headSha, parent, featureId: feature?.id ?? null },
        { mergedIntoParent: false },
        manager,
      );
      if (feature && before?.headSha !== input.headSha) {
        await this.events.emitOwn(manager, [
          {
            name: BRANCH_UPDATED_EVENT,
            data: {
              project: projectId,
              repository: { id: repository.id, owner: repository.owner, name: repository.name },
              branch: input.name,
              headSha: input.headSha,
              feature: { id: feature.id, externalId: feature.externalId },
            },
          },
        ]);
      }
      return branch;
    });
  }

  /** Removes a branch its tool no longer has; its builds stay, without a branch. */
  async removeBranch(projectId: string, repositoryId: string, name: string): Promise<boolean> {
    return this.serializer.transaction(async (manager) => {
      const branch = await this.store.findBy(manager, 'branches', projectId, { repositoryId, name });
      return branch ? this.store.delete(manager, 'branches', branch.id) : false;
    });
  }

  async setMerged(projectId: string, repositoryId: string, name: string, merged: boolean): Promise<boolean> {
    return this.serializer.transaction(async (manager) => {
      const branch = await this.store.findBy(manager, 'branches', projectId, { repositoryId, name });
      if (!branch) return false;
      if (branch.mergedIntoParent !== merged)
        await this.store.update(manager, 'branches', branch.id, {
          mergedIntoParent: merged,
          updatedAt: this.clock.now(),
        });
      return true;
    });
  }

  /**
   * A feature as its planning tool has it; a change of state is the event `project.feature.updated`.
   * A new feature takes the branches whose patterns named it before it was known.
   */
  async upsertFeature(projectId: string, input: NewFeature): Promise<ProjectRecord> {
    const patterns = await this.projectStore.providerSettings(projectId);
    return this.serializer.transaction(async (manager) => {
      const key = { provider: input.provider, externalId: input.externalId };
      const before = await this.store.findBy(manager, 'features', projectId, key);
      const feature = await this.upsert(
        'features',
        projectId,
        key,
        {
          type: input.type,
          title: input.title,
          owner: input.owner ?? null,
          state: input.state,
          url: input.url ?? null,
        },
        {},
        manager,
      );
      if (!before) await this.linkBranches(manager, projectId, feature, patterns);
      if (before && before.state !== input.state) {
        await this.events.emitOwn(manager, [
          {
            name: FEATURE_UPDATED_EVENT,
            data: {
              project: projectId,
              feature: feature.id,
              externalId: input.externalId,
              state: input.state,
              was: before.state,
            },
          },
        ]);
      }
      return feature;
    });
  }

  upsertBuild(projectId: string, input: NewBuild): Promise<ProjectRecord> {
    const { provider, job, number, ...rest } = input;
    return this.upsert(
      'builds',
      projectId,
      { provider, job, number },
      {
        revision: rest.revision ?? null,
        branchId: rest.branchId ?? null,
        status: rest.status,
        url: rest.url ?? null,
        startedAt: rest.startedAt ?? null,
        finishedAt: rest.finishedAt ?? null,
      },
    );
  }

  /** Inserts the record of that key with these fields, or updates them; the record as stored. */
  private async upsert(
    kind: RecordKind,
    projectId: string,
    key: Record<string, unknown>,
    fields: Record<string, unknown>,
    onInsert: Record<string, unknown> = {},
    outer?: EntityManager,
  ): Promise<ProjectRecord> {
    const work = async (manager: EntityManager) => {
      const now = this.clock.now();
      const existing = await this.store.findBy(manager, kind, projectId, key);
      if (existing) await this.store.update(manager, kind, existing.id, { ...fields, updatedAt: now });
      else
        await this.store.insert(manager, kind, projectId, {
          id: newId(now.getTime()),
          ...key,
          ...onInsert,
          ...fields,
          updatedAt: now,
        });
      return (await this.store.findBy(manager, kind, projectId, key))!;
    };
    return outer ? work(outer) : this.serializer.transaction(work);
  }

  /** Links the unlinked branches whose branch pattern names this feature. */
  private async linkBranches(
    manager: EntityManager,
    projectId: string,
    feature: ProjectRecord,
    settings: { provider: string; settings: Record<string, unknown> }[],
  ): Promise<void> {
    const providerOf = new Map(
      (await this.all('repositories', projectId, {})).map((repository) => [
        repository.id,
        repository.provider,
      ]),
    );
    for (const branch of await this.all('branches', projectId, {})) {
      if (branch.featureId !== null) continue;
      const patterns = settings.find(
        (found) => found.provider === providerOf.get(String(branch.repositoryId)),
      );
      const { featureExternalId } = matchPattern(patterns?.settings, String(branch.name));
      if (featureExternalId === feature.externalId)
        await this.store.update(manager, 'branches', branch.id, { featureId: feature.id });
    }
  }

  /** Every record of a kind that passes the filters, read page by page. */
  private async all(
    kind: RecordKind,
    projectId: string,
    filters: Record<string, string | boolean>,
  ): Promise<ProjectRecord[]> {
    const records: ProjectRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.page(kind, projectId, filters, PAGE, cursor);
      records.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return records;
  }

  /** The repositories with the feature's branches, each branch with its latest build and provider data. */
  private async branchesOf(projectId: string, featureId: string): Promise<RecordView[]> {
    const branches = (await this.store.page('branches', projectId, { featureId }, 500)).items;
    const data = await this.store.providerData(
      'branches',
      branches.map((branch) => branch.id),
    );
    const byRepository = new Map<string, RecordView[]>();
    for (const branch of branches) {
      const builds = (await this.store.page('builds', projectId, { branchId: branch.id }, 1_000)).items;
      const list = byRepository.get(String(branch.repositoryId)) ?? [];
      list.push({ ...branch, latestBuild: builds.at(-1) ?? null, providerData: data.get(branch.id) ?? [] });
      byRepository.set(String(branch.repositoryId), list);
    }
    const views: RecordView[] = [];
    for (const [repositoryId, list] of byRepository) {
      const repository = await this.store.find('repositories', projectId, repositoryId);
      views.push({ ...repository, branches: list });
    }
    return views;
  }

  private async patternFor(
    projectId: string,
    provider: string,
    branch: string,
  ): Promise<{ parent: string | null; featureExternalId: string | null }> {
    const [settings] = await this.projectStore.providerSettings(projectId, provider);
    return matchPattern(settings?.settings, branch);
  }

  private async mustFind(kind: RecordKind, projectId: string, id: string): Promise<ProjectRecord> {
    const record = await this.store.find(kind, projectId, id);
    if (!record)
      throw new ProjectError('RECORD_NOT_FOUND', `project ${projectId} has no ${kind} record ${id}`);
    return record;
  }
}

/** The parent and feature the first of a provider's branch patterns that matches the branch gives it. */
function matchPattern(
  settings: Record<string, unknown> | undefined,
  branch: string,
): { parent: string | null; featureExternalId: string | null } {
  for (const { pattern, parent } of (settings?.branches ?? []) as BranchPattern[]) {
    const match = new RegExp(pattern).exec(branch);
    if (match) return { parent: parent ?? null, featureExternalId: match.groups?.feature ?? null };
  }
  return { parent: null, featureExternalId: null };
}

/** The fields `?fields=a,b` asks for, each one the kind has; undefined: all. */
function fieldsOf(kind: RecordKind, fields: string | undefined): string[] | undefined {
  if (fields === undefined) return undefined;
  const known = [
    ...Object.keys(KINDS[kind].fields),
    'providerData',
    ...(kind === 'features' ? ['repositories'] : []),
  ];
  const asked = fields.split(',').map((field) => field.trim());
  const unknown = asked.filter((field) => !known.includes(field));
  if (unknown.length > 0 || asked.length === 0)
    throw new ProjectError(
      'INVALID_FIELDS',
      `${kind} have no field ${unknown.join(', ')}; they have ${known.join(', ')}`,
    );
  return asked;
}

function project(view: RecordView, fields: string[] | undefined): RecordView {
  return fields ? Object.fromEntries(fields.map((field) => [field, view[field]])) : view;
}
