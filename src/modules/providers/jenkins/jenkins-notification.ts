import type { BuildStatus, ProjectBranch, ProjectBuild, ProjectBuildInput } from '../project-provider.js';

/**
 * What the Notification plugin (plugins.jenkins.io/notification) posts for each phase of a build,
 * in its JSON format: the job's name and the build, its SCM checkout when the job has one.
 */
export interface JenkinsNotification {
  name: string;
  url?: string;
  build: {
    full_url?: string;
    number: number;
    queue_id?: number;
    phase: string;
    status?: string;
    url?: string;
    /** When the build was scheduled, in ms since 1970. */
    timestamp?: number;
    /** In ms; set once the build is done. */
    duration?: number;
    scm?: { url?: string; branch?: string; commit?: string };
    parameters?: Record<string, unknown>;
  };
}

/** The plugin's phases (DELETED came later: a build was removed). */
export type JenkinsPhase = 'QUEUED' | 'STARTED' | 'COMPLETED' | 'FINALIZED' | 'DELETED';

const PHASES: readonly string[] = ['QUEUED', 'STARTED', 'COMPLETED', 'FINALIZED', 'DELETED'];

/** Jenkins' results (hudson.model.Result) as build statuses. */
const RESULTS: Record<string, BuildStatus> = {
  SUCCESS: 'success',
  UNSTABLE: 'unstable',
  FAILURE: 'failure',
  NOT_BUILT: 'not_built',
  ABORTED: 'aborted',
};

const FINISHED: readonly BuildStatus[] = ['success', 'unstable', 'failure', 'not_built', 'aborted'];

/** The notification in a body, or why it is not one; only the fields the provider relies on are checked. */
export function notificationProblem(body: unknown): string | null {
  if (!isObject(body)) return 'the body is not a JSON object';
  if (typeof body.name !== 'string' || body.name === '') return 'name (the job) is missing';
  const build = body.build;
  if (!isObject(build)) return 'build is missing';
  if (!Number.isSafeInteger(build.number) || (build.number as number) < 1)
    return 'build.number is not a build number';
  if (typeof build.phase !== 'string' || !PHASES.includes(build.phase))
    return `build.phase is not one of ${PHASES.join(', ')}`;
  return null;
}

/** The event a notification becomes: `jenkins.build.<phase>`. */
export function eventNameOf(notification: JenkinsNotification): string {
  return `jenkins.build.${notification.build.phase.toLowerCase()}`;
}

/**
 * The job's full name, folders included (`team/shop`): `name` is only the last part, so it is read
 * from the job's relative URL (`job/team/job/shop/`) when there is one of that form.
 */
export function jobNameOf(notification: JenkinsNotification): string {
  const url = notification.url ?? '';
  if (!/^(job\/[^/]+\/)+$/.test(url)) return notification.name;
  try {
    return url
      .split('/')
      .filter((segment, index) => index % 2 === 1 && segment !== '')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
  } catch {
    return notification.name;
  }
}

/** Each phase of each build is delivered once: the plugin's retries of it are duplicates. */
export function deliveryIdOf(notification: JenkinsNotification): string {
  return `${jobNameOf(notification)}#${notification.build.number}:${notification.build.phase}`;
}

/** The branch a checkout names, as a repository calls it: `origin/main` and `refs/heads/main` are `main`. */
export function branchNameOf(scmBranch: string | undefined): string | null {
  if (!scmBranch) return null;
  const name = scmBranch.replace(/^refs\/heads\//, '').replace(/^origin\//, '');
  return name === '' ? null : name;
}

/**
 * The branch a build ran on, among the project's branches of that name or head: the one with both
 * (several repositories may have a `main`), else the one of that name, else the one at that commit.
 */
export function pickBranch(
  branches: ProjectBranch[],
  name: string | null,
  commit: string | null,
): ProjectBranch | null {
  const named = name === null ? [] : branches.filter((branch) => branch.name === name);
  const atCommit = commit === null ? [] : branches.filter((branch) => branch.headSha === commit);
  return (
    named.find((branch) => commit !== null && branch.headSha === commit) ?? named[0] ?? atCommit[0] ?? null
  );
}

/**
 * The build a notification describes, merged with what was stored before: notifications may arrive
 * out of order (the plugin sends each phase on its own), so a finished build stays finished, and
 * what an earlier phase said is kept where a later one is silent.
 */
export function buildFrom(
  notification: JenkinsNotification,
  job: string,
  branchId: string | null,
  before: ProjectBuild | null,
): ProjectBuildInput | null {
  const { build } = notification;
  const status = statusOf(build.phase as JenkinsPhase, build.status);
  if (status === null) return null;
  const startedAt = typeof build.timestamp === 'number' ? new Date(build.timestamp) : null;
  const finishedAt =
    startedAt && typeof build.duration === 'number' && build.duration > 0 && FINISHED.includes(status)
      ? new Date(startedAt.getTime() + build.duration)
      : null;
  const keepFinished = before !== null && isFinished(before.status) && !FINISHED.includes(status);
  return {
    job,
    number: build.number,
    revision: build.scm?.commit || before?.revision || null,
    branchId: branchId ?? before?.branchId ?? null,
    status: keepFinished ? before.status : status,
    url: build.full_url || before?.url || null,
    startedAt: startedAt ?? before?.startedAt ?? null,
    finishedAt: keepFinished ? before.finishedAt : (finishedAt ?? before?.finishedAt ?? null),
  };
}

/** QUEUED is queued, STARTED running, a finished phase the build's result; null for DELETED or no result. */
export function statusOf(phase: JenkinsPhase, result: string | undefined): BuildStatus | null {
  switch (phase) {
    case 'QUEUED':
      return 'queued';
    case 'STARTED':
      return 'running';
    case 'COMPLETED':
    case 'FINALIZED':
      return (result && RESULTS[result.toUpperCase()]) || null;
    case 'DELETED':
      return null;
  }
}

/** `a/b` (a job in folder a) is the path `job/a/job/b`, each name encoded. */
export function jobPath(job: string): string {
  return job
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => `job/${encodeURIComponent(segment)}`)
    .join('/');
}

function isFinished(status: string): status is BuildStatus {
  return (FINISHED as readonly string[]).includes(status);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
