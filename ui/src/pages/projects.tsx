import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';

/** A feature as `GET /projects/{id}/features` gives it (project records are untyped in the OpenAPI document). */
export interface FeatureRecord {
  id: string;
  provider: string;
  externalId: string;
  type: string;
  title: string;
  owner: string | null;
  state: string;
  url: string | null;
  updatedAt: string;
}

interface BranchRecord {
  id: string;
  repositoryId: string;
  name: string;
  headSha: string;
  parent: string | null;
  mergedIntoParent: boolean;
  featureId: string | null;
}

interface RepositoryRecord {
  id: string;
  owner: string;
  name: string;
}

const PAGE_SIZE = 50;
/** The largest page the records lists give. */
const RECORD_LIMIT = 200;

/** The projects the signed-in account is a member of (an admin: all). */
export function ProjectsPage() {
  useTitle('Projects');
  const [params, setParams] = useSearchParams();
  const cursor = params.get('cursor') ?? undefined;
  const projects = useQuery({
    queryKey: ['projects', { cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/projects', {
          params: { query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  const nextPage = () => {
    if (projects.data?.nextCursor) setParams({ cursor: projects.data.nextCursor });
  };

  return (
    <>
      <h1>Projects</h1>
      <ErrorMessage error={projects.error} />
      {projects.isPending && <p>Loading…</p>}
      {projects.data && projects.data.items.length === 0 && <p>No project to show.</p>}
      {projects.data && projects.data.items.length > 0 && (
        <table>
          <caption>Projects, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Slug</th>
              <th scope="col">Created</th>
              <th scope="col">Services</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.items.map((project) => (
              <tr key={project.id}>
                <th scope="row">
                  <Link to={`/projects/${project.id}`}>{project.name}</Link>
                </th>
                <td>{project.slug}</td>
                <td>{formatTime(project.createdAt)}</td>
                <td>
                  <Link to={`/services?project=${project.id}`} aria-label={`Services of ${project.name}`}>
                    Services
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {projects.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          More projects
        </button>
      )}
    </>
  );
}

/** One project: its features, each linking to its branches and their builds, and every branch. */
export function ProjectPage() {
  const { id = '' } = useParams();
  const project = useQuery({
    queryKey: ['project', id],
    queryFn: async () => unwrap(await api.GET('/projects/{id}', { params: { path: { id } } })),
  });
  useTitle(project.data ? `Project ${project.data.name}` : 'Project');
  const features = useQuery({
    queryKey: ['project', id, 'features'],
    queryFn: async () =>
      unwrap(
        await api.GET('/projects/{id}/features', {
          params: { path: { id }, query: { limit: RECORD_LIMIT } },
        }),
      ).items as unknown as FeatureRecord[],
    refetchInterval: 10_000,
  });
  const branches = useQuery({
    queryKey: ['project', id, 'branches'],
    queryFn: async () => {
      const [page, repositories] = await Promise.all([
        api.GET('/projects/{id}/branches', { params: { path: { id }, query: { limit: RECORD_LIMIT } } }),
        api.GET('/projects/{id}/repositories', { params: { path: { id }, query: { limit: RECORD_LIMIT } } }),
      ]);
      const names = new Map(
        (unwrap(repositories).items as unknown as RepositoryRecord[]).map((r) => [
          r.id,
          `${r.owner}/${r.name}`,
        ]),
      );
      return (unwrap(page).items as unknown as BranchRecord[]).map((branch) => ({
        ...branch,
        repository: names.get(branch.repositoryId) ?? branch.repositoryId,
      }));
    },
    refetchInterval: 10_000,
  });
  const featureOf = new Map((features.data ?? []).map((feature) => [feature.id, feature]));

  return (
    <>
      <p>
        <Link to="/projects">← All projects</Link>
      </p>
      <h1>{project.data ? project.data.name : 'Project'}</h1>
      <ErrorMessage error={project.error} />
      {project.data && (
        <p>
          Slug <code>{project.data.slug}</code> · <Link to={`/services?project=${id}`}>Its services</Link>
        </p>
      )}
      <section aria-labelledby="features">
        <h2 id="features">Features</h2>
        <ErrorMessage error={features.error} />
        {features.data && features.data.length === 0 && <p>No feature yet: its planning tool adds them.</p>}
        {features.data && features.data.length > 0 && (
          <table>
            <caption>Stories, bugs and features from the project’s planning tools</caption>
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col">Title</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Owner</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {features.data.map((feature) => (
                <tr key={feature.id}>
                  <th scope="row">
                    <Link to={`/projects/${id}/features/${feature.id}`}>{feature.externalId}</Link>
                  </th>
                  <td>{feature.title}</td>
                  <td>{feature.type}</td>
                  <td>{feature.state}</td>
                  <td>{feature.owner ?? '—'}</td>
                  <td>{feature.provider}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="branches">
        <h2 id="branches">Branches</h2>
        <ErrorMessage error={branches.error} />
        {branches.data && branches.data.length === 0 && (
          <p>No branch yet: its code hosting tool adds them.</p>
        )}
        {branches.data && branches.data.length > 0 && (
          <table>
            <caption>Branches of the project’s repositories; a feature’s page shows their builds</caption>
            <thead>
              <tr>
                <th scope="col">Branch</th>
                <th scope="col">Repository</th>
                <th scope="col">Parent</th>
                <th scope="col">Feature</th>
                <th scope="col">Head</th>
              </tr>
            </thead>
            <tbody>
              {branches.data.map((branch) => {
                const feature = branch.featureId ? featureOf.get(branch.featureId) : undefined;
                return (
                  <tr key={branch.id}>
                    <th scope="row">
                      {branch.name}
                      {branch.mergedIntoParent ? ' (merged)' : ''}
                    </th>
                    <td>{branch.repository}</td>
                    <td>{branch.parent ?? '—'}</td>
                    <td>
                      {branch.featureId ? (
                        <Link to={`/projects/${id}/features/${branch.featureId}`}>
                          {feature?.externalId ?? 'its feature'}
                        </Link>
                      ) : (
                        'none'
                      )}
                    </td>
                    <td>
                      <code>{branch.headSha.slice(0, 10)}</code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
