import type { ProjectBranch, ProjectBuild } from '../project-provider.js';
import {
  branchNameOf,
  buildFrom,
  deliveryIdOf,
  jobNameOf,
  jobPath,
  notificationProblem,
  pickBranch,
} from './jenkins-notification.js';
import type { JenkinsNotification } from './jenkins-notification.js';

const notification = (
  build: Partial<JenkinsNotification['build']>,
  url = 'job/shop/',
): JenkinsNotification => ({
  name: 'shop',
  url,
  build: { number: 7, phase: 'STARTED', ...build },
});

const branch = (id: string, name: string, headSha: string | null): ProjectBranch => ({
  id,
  repositoryId: `repo-${id}`,
  name,
  headSha,
  parent: null,
  mergedIntoParent: false,
  featureId: null,
});

const stored = (fields: Partial<ProjectBuild>): ProjectBuild => ({
  id: 'b1',
  provider: 'jenkins',
  job: 'shop',
  number: 7,
  revision: 'c1',
  branchId: 'br1',
  status: 'success',
  url: 'https://ci/job/shop/7/',
  startedAt: new Date('2026-03-01T10:00:00Z'),
  finishedAt: new Date('2026-03-01T10:01:00Z'),
  ...fields,
});

describe('notificationProblem', () => {
  it('accepts a body with a job name, a build number and a known phase', () => {
    expect(notificationProblem(notification({}))).toBeNull();
  });

  it('names what is missing when the body is not a notification', () => {
    expect(notificationProblem([])).toBe('the body is not a JSON object');
    expect(notificationProblem({ build: { number: 1, phase: 'STARTED' } })).toContain('name');
    expect(notificationProblem({ name: 'x', build: { number: 0, phase: 'STARTED' } })).toContain('number');
    expect(notificationProblem({ name: 'x', build: { number: 1, phase: 'started' } })).toContain('phase');
  });
});

describe('jobNameOf and jobPath', () => {
  it('reads folders from the job URL when the name is only the last part', () => {
    const inFolder = { ...notification({}, 'job/team/job/shop%20app/'), name: 'shop app' };
    expect(jobNameOf(inFolder)).toBe('team/shop app');
    expect(deliveryIdOf(inFolder)).toBe('team/shop app#7:STARTED');
    expect(jobNameOf(notification({}, 'something/else'))).toBe('shop');
  });

  it('turns folders into job/ segments, each encoded, when building a job path', () => {
    expect(jobPath('team/shop app')).toBe('job/team/job/shop%20app');
  });
});

describe('branchNameOf and pickBranch', () => {
  it('strips origin/ and refs/heads/ when the checkout names a remote branch', () => {
    expect(branchNameOf('origin/feature/A-1')).toBe('feature/A-1');
    expect(branchNameOf('refs/heads/main')).toBe('main');
    expect(branchNameOf(undefined)).toBeNull();
  });

  it('prefers the branch with both name and head, then the name, then the head', () => {
    const branches = [branch('a', 'main', 'x'), branch('b', 'main', 'c1'), branch('c', 'other', 'c2')];
    expect(pickBranch(branches, 'main', 'c1')?.id).toBe('b');
    expect(pickBranch(branches, 'main', 'zz')?.id).toBe('a');
    expect(pickBranch(branches, 'gone', 'c2')?.id).toBe('c');
    expect(pickBranch(branches, null, null)).toBeNull();
  });
});

describe('buildFrom', () => {
  it('maps phases and results to statuses, with times from timestamp and duration', () => {
    const at = Date.parse('2026-03-01T10:00:00Z');
    expect(buildFrom(notification({ phase: 'QUEUED' }), 'shop', null, null)?.status).toBe('queued');
    expect(
      buildFrom(
        notification({
          phase: 'COMPLETED',
          status: 'NOT_BUILT',
          timestamp: at,
          duration: 5000,
          full_url: 'u',
        }),
        'shop',
        'br',
        null,
      ),
    ).toEqual({
      job: 'shop',
      number: 7,
      revision: null,
      branchId: 'br',
      status: 'not_built',
      url: 'u',
      startedAt: new Date(at),
      finishedAt: new Date(at + 5000),
    });
    expect(buildFrom(notification({ phase: 'DELETED' }), 'shop', null, null)).toBeNull();
  });

  it('keeps a finished build finished when a late STARTED arrives', () => {
    const late = buildFrom(notification({ phase: 'STARTED' }), 'shop', null, stored({ status: 'failure' }));
    expect(late).toMatchObject({
      status: 'failure',
      revision: 'c1',
      branchId: 'br1',
      url: 'https://ci/job/shop/7/',
    });
    expect(late?.finishedAt).toEqual(new Date('2026-03-01T10:01:00Z'));
  });

  it('keeps what COMPLETED said when FINALIZED says less', () => {
    const final = buildFrom(
      notification({ phase: 'FINALIZED', status: 'SUCCESS' }),
      'shop',
      null,
      stored({}),
    );
    expect(final).toMatchObject({ status: 'success', revision: 'c1', branchId: 'br1' });
    expect(final?.finishedAt).toEqual(new Date('2026-03-01T10:01:00Z'));
  });
});
