import { useQuery } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { StatusBadge, Summary } from '../summary';

/** One provider's part of a service, as `GET /projects/{id}/services` gives it (untyped in the OpenAPI document). */
interface ProviderDetail {
  providerServiceId: string | null;
  accessUrls: { domain: string; url: string }[];
  status: string;
  errorInfo: { code: string; message: string; at: string } | null;
  updatedAt: string;
}

interface ServiceView {
  id: string;
  projectId: string;
  name: string;
  flavorId: string;
  domains: { domain: string; protocol?: string }[];
  origins: { origin: string; port?: number; ssl?: boolean }[];
  caching: { name: string; ttl: number }[];
  operatorStatus: 'enabled' | 'disabled';
  status: string;
  providerDetails: Record<string, ProviderDetail>;
  updatedAt: string;
}

/** The most a page of services holds. */
const SERVICE_PAGE = 20;
const PROJECT_LIMIT = 200;

/** A project's provisioned services, with each provider's status beside the one derived from them. */
export function ServicesPage() {
  useTitle('Services');
  const [params, setParams] = useSearchParams();
  const projectId = params.get('project') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const projects = useQuery({
    queryKey: ['projects', { limit: PROJECT_LIMIT }],
    queryFn: async () => unwrap(await api.GET('/projects', { params: { query: { limit: PROJECT_LIMIT } } })),
  });
  const services = useQuery({
    queryKey: ['services', projectId, { cursor }],
    enabled: projectId !== '',
    queryFn: async () => {
      const page = unwrap(
        await api.GET('/projects/{id}/services', {
          params: { path: { id: projectId }, query: { limit: SERVICE_PAGE, ...(cursor ? { cursor } : {}) } },
        }),
      );
      return {
        items: (page.items ?? []) as ServiceView[],
        nextCursor: (page.nextCursor ?? null) as string | null,
      };
    },
    // Flows move services through their states; follow them.
    refetchInterval: 3000,
  });
  const project = projects.data?.items.find((found) => found.id === projectId);

  const choose = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const chosen = new FormData(event.currentTarget).get('project');
    setParams(typeof chosen === 'string' && chosen ? { project: chosen } : {});
  };
  const nextPage = () => {
    if (services.data?.nextCursor) setParams({ project: projectId, cursor: services.data.nextCursor });
  };

  return (
    <>
      <h1>Services</h1>
      <form className="filters" onSubmit={choose} aria-label="Choose a project" key={projectId}>
        <label htmlFor="services-project">Project</label>
        <select id="services-project" name="project" defaultValue={projectId}>
          <option value="">choose a project</option>
          {(projects.data?.items ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <button type="submit">Show</button>
      </form>
      <ErrorMessage error={projects.error ?? services.error} />
      {!projectId && <p>Services belong to a project: choose one.</p>}
      {projectId && services.isPending && <p>Loading…</p>}
      {services.data && services.data.items.length === 0 && <p>The project has no service.</p>}
      {services.data && services.data.items.length > 0 && (
        <table>
          <caption>
            Services of {project ? <Link to={`/projects/${projectId}`}>{project.name}</Link> : 'the project'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Flavor</th>
              <th scope="col">Domains</th>
              <th scope="col">Status</th>
              <th scope="col">Per provider</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {services.data.items.map((service) => (
              <tr key={service.id}>
                <th scope="row">
                  <Link to={`/services/${projectId}/${service.id}`}>{service.name}</Link>
                </th>
                <td>{service.flavorId}</td>
                <td>{service.domains.map((d) => d.domain).join(', ')}</td>
                <td>
                  <StatusBadge label={label(service.status)}>{service.status}</StatusBadge>
                  {service.operatorStatus === 'disabled' && ' (disabled)'}
                </td>
                <td>
                  <ProviderStatuses details={service.providerDetails} />
                </td>
                <td>{formatTime(service.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {services.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          More services
        </button>
      )}
    </>
  );
}

function ProviderStatuses({ details }: { details: Record<string, ProviderDetail> }) {
  const entries = Object.entries(details);
  if (entries.length === 0) return <>—</>;
  return (
    <ul className="providers">
      {entries.map(([provider, detail]) => (
        <li key={provider}>
          {provider}: <StatusBadge label={label(detail.status)}>{detail.status}</StatusBadge>
          {detail.errorInfo && (
            <>
              {' '}
              ({detail.errorInfo.code}: {detail.errorInfo.message})
            </>
          )}
          {detail.accessUrls.length > 0 && (
            <>
              {' '}
              at <code>{detail.accessUrls[0].url}</code>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

/** "create_in_progress" reads "create in progress". */
function label(status: string): string {
  return status.replaceAll('_', ' ');
}

/** One service: its spec, and each provider's part with its id there, access URLs and last error. */
export function ServicePage() {
  const { projectId = '', serviceId = '' } = useParams();
  const service = useQuery({
    queryKey: ['service', projectId, serviceId],
    queryFn: async () =>
      unwrap(
        await api.GET('/projects/{id}/services/{sid}', {
          params: { path: { id: projectId, sid: serviceId } },
        }),
      ) as unknown as ServiceView,
    refetchInterval: 3000,
  });
  const data = service.data;
  useTitle(data ? `Service ${data.name}` : 'Service');

  return (
    <>
      <p>
        <Link to={`/services?project=${projectId}`}>← The project’s services</Link>
      </p>
      <h1>{data ? `Service ${data.name}` : 'Service'}</h1>
      <ErrorMessage error={service.error} />
      {data && (
        <>
          <Summary
            items={[
              [
                'Status',
                <StatusBadge testId="service-status" label={label(data.status)}>
                  {data.status}
                </StatusBadge>,
              ],
              ['Operator status', data.operatorStatus],
              ['Flavor', data.flavorId],
              ['Domains', data.domains.map((d) => d.domain).join(', ')],
              [
                'Origins',
                <>{data.origins.map((o) => `${o.origin}${o.port ? `:${o.port}` : ''}`).join(', ')}</>,
              ],
              ['Caching', <>{data.caching.map((c) => `${c.name}: ${c.ttl} s`).join(', ') || '—'}</>],
              ['Updated', formatTime(data.updatedAt)],
            ]}
          />
          <section aria-labelledby="providers">
            <h2 id="providers">Providers</h2>
            <table>
              <caption>
                Each provider’s part of the service; the service’s status is derived from them
              </caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Status</th>
                  <th scope="col">Id there</th>
                  <th scope="col">Access URLs</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(data.providerDetails).map(([provider, detail]) => (
                  <tr key={provider}>
                    <th scope="row">{provider}</th>
                    <td>
                      <StatusBadge label={label(detail.status)}>{detail.status}</StatusBadge>
                    </td>
                    <td>{detail.providerServiceId ? <code>{detail.providerServiceId}</code> : '—'}</td>
                    <td>
                      {detail.accessUrls.length === 0
                        ? '—'
                        : detail.accessUrls.map((access) => `${access.domain} → ${access.url}`).join(', ')}
                    </td>
                    <td>
                      {detail.errorInfo
                        ? `${detail.errorInfo.code}: ${detail.errorInfo.message} (${formatTime(detail.errorInfo.at)})`
                        : '—'}
                    </td>
                    <td>{formatTime(detail.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </>
  );
}
