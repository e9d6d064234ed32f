import type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
import type { ProviderConnection } from './provider.decorator.js';

/**
 * What a provider that keeps projects current (GitHub, git, Jenkins, TargetProcess) works with.
 * The projects module owns the records; a provider never touches them but through the
 * `ProjectRecordsPort` it is handed, and never keeps tables of its own.
 */

export interface ProjectRepository {
  id: string;
  provider: string;
  owner: string;
  name: string;
  url: string | null;
  active: boolean;
}

export interface ProjectBranch {
  id: string;
  repositoryId: string;
  name: string;
  headSha: string | null;
  parent: string | null;
  mergedIntoParent: boolean;
  featureId: string | null;
}

export interface ProjectFeature {
  id: string;
  provider: string;
  externalId: string;
  type: 'story' | 'bug' | 'feature';
  title: string;
  owner: string | null;
  state: string;
  url: string | null;
}

export const BUILD_STATUSES = [
  'queued',
  'running',
  'success',
  'unstable',
  'failure',
  'not_built',
  'aborted',
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export interface ProjectBuildInput {
  job: string;
  number: number;
  revision?: string | null;
  branchId?: string | null;
  status: BuildStatus;
  url?: string | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
}

/** A build as stored. */
export interface ProjectBuild {
  id: string;
  provider: string;
  job: string;
  number: number;
  revision: string | null;
  branchId: string | null;
  status: BuildStatus;
  url: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface ProjectFeatureInput {
  externalId: string;
  type: 'story' | 'bug' | 'feature';
  title: string;
  owner?: string | null;
  state: string;
  url?: string | null;
}

/**
 * The project's records, as one provider may write them: every repository, feature and build it
 * writes carries its key as `provider`. Branches are written under a repository.
 */
export interface ProjectRecordsPort {
  /** Adds the repository, or updates its url and marks it active; keyed by (owner, name). */
  upsertRepository(input: { owner: string; name: string; url?: string | null }): Promise<ProjectRepository>;
  /** This provider's repositories in the project. */
  repositories(): Promise<ProjectRepository[]>;
  /** A repository's branches, by name. */
  branches(repositoryId: string): Promise<ProjectBranch[]>;
  /**
   * Sets a branch's head, creating the branch. Its parent and feature come from the project's
   * branch patterns; a new head of a branch linked to a feature emits `project.branch.updated`.
   */
  upsertBranch(repositoryId: string, input: { name: string; headSha: string }): Promise<ProjectBranch>;
  /** Removes a branch (gone at the tool); false when there was none. */
  removeBranch(repositoryId: string, name: string): Promise<boolean>;
  /** Marks whether a branch is merged into its parent; false when there is no such branch. */
  setMerged(repositoryId: string, name: string, merged: boolean): Promise<boolean>;
  /** Branches of any repository of the project with this name (and head, when given). */
  findBranches(query: { name?: string; headSha?: string }): Promise<ProjectBranch[]>;
  upsertFeature(input: ProjectFeatureInput): Promise<ProjectFeature>;
  /** This provider's features in the project. */
  features(): Promise<ProjectFeature[]>;
  /** Adds a build, or updates it; keyed by (job, number). */
  upsertBuild(input: ProjectBuildInput): Promise<void>;
  /**
   * This provider's build of that job and number; null when there is none. For a tool whose
   * notifications may arrive out of order, which merges what it hears with what it heard before.
   */
  build(job: string, number: number): Promise<ProjectBuild | null>;
}

/**
 * What a project provider's methods get: the project, its settings for this provider, the
 * connection those settings name (null when they name none), and the records.
 */
export interface ProjectContext {
  projectId: string;
  settings: Record<string, unknown>;
  connection: ProviderConnection | null;
  signal: AbortSignal;
  /** A partner call for the connection, within its rate budget, logged to the job; refused without a connection. */
  request(request: PartnerRequest): Promise<PartnerResponse>;
  log(line: string): Promise<void>;
  records: ProjectRecordsPort;
}

/** An event one of the provider's connections received (an inbound webhook), as a project sees it. */
export interface ProjectEvent {
  id: string;
  name: string;
  connectionId: string;
  data: unknown;
}

/**
 * A route a provider asks for, per project, from its settings (Jenkins: build a branch on every
 * `project.branch.updated`). Junction keeps it as a stored route named
 * `project:<projectId>:<provider>:<key>`, visible in `/routes`, and removes it with the settings.
 */
export interface ProjectRouteSpec {
  key: string;
  eventPattern: string;
  filter: Record<string, unknown> | null;
  jobType: string;
  payloadTemplate: unknown;
}
