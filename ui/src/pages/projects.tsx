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

const PAGE_SIZE = 50;
const FEATURE_LIMIT = 200;

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

/** One project: its features, each linking to its branches and their builds. */
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
          params: { path: { id }, query: { limit: FEATURE_LIMIT } },
        }),
      ).items as unknown as FeatureRecord[],
    refetchInterval: 10_000,
  });

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
    </>
  );
}
