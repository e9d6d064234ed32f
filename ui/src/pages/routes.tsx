import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { useTitle } from '../layout';
import { useSession } from '../session';

/** Every route, code routes first: which events start which jobs. */
export function RoutesPage() {
  useTitle('Routes');
  const session = useSession();
  const routes = useQuery({
    queryKey: ['routes'],
    queryFn: async () => unwrap(await api.GET('/routes')),
  });
  const mayWrite = session.data ? roleAtLeast(session.data.role, 'admin') : false;

  return (
    <>
      <h1>Routes</h1>
      <p className="hint">
        Each event whose name matches a route&apos;s pattern and passes its filter starts a job.
      </p>
      {mayWrite && (
        <p>
          <Link to="/routes/new">New route</Link>
        </p>
      )}
      <ErrorMessage error={routes.error} />
      {routes.isPending && <p>Loading…</p>}
      {routes.data && routes.data.length === 0 && <p>No routes yet.</p>}
      {routes.data && routes.data.length > 0 && (
        <table>
          <caption>
            {routes.data.length} route{routes.data.length === 1 ? '' : 's'}, those declared in code first
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Event pattern</th>
              <th scope="col">Filter</th>
              <th scope="col">Job type</th>
              <th scope="col">Enabled</th>
              <th scope="col">Origin</th>
            </tr>
          </thead>
          <tbody>
            {routes.data.map((route) => (
              <tr key={route.id}>
                <th scope="row">
                  <Link to={`/routes/${encodeURIComponent(route.id)}`}>{route.name}</Link>
                </th>
                <td>
                  <code>{route.eventPattern}</code>
                </td>
                <td>{route.filter ? <code>{JSON.stringify(route.filter)}</code> : 'none'}</td>
                <td>{route.jobType}</td>
                <td>{route.enabled ? 'yes' : 'no'}</td>
                <td>{route.origin === 'code' ? 'code (read-only)' : 'API'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
