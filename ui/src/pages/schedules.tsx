import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';

/** Every schedule with its next firing; paged by cursor in the URL. */
export function SchedulesPage() {
  useTitle('Schedules');
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const cursor = params.get('cursor') ?? undefined;
  const schedules = useQuery({
    queryKey: ['schedules', { cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/schedules', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }),
      ),
    refetchInterval: 10_000,
  });
  const mayWrite = session.data ? roleAtLeast(session.data.role, 'admin') : false;

  return (
    <>
      <h1>Schedules</h1>
      {mayWrite && (
        <p>
          <Link to="/schedules/new">New schedule</Link>
        </p>
      )}
      <ErrorMessage error={schedules.error} />
      {schedules.isPending && <p>Loading…</p>}
      {schedules.data && schedules.data.items.length === 0 && <p>No schedules.</p>}
      {schedules.data && schedules.data.items.length > 0 && (
        <table>
          <caption>
            {schedules.data.items.length} schedule{schedules.data.items.length === 1 ? '' : 's'}, with the
            next firing of each
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cron</th>
              <th scope="col">Job type</th>
              <th scope="col">State</th>
              <th scope="col">Next firing</th>
              <th scope="col">Last firing</th>
            </tr>
          </thead>
          <tbody>
            {schedules.data.items.map((schedule) => (
              <tr key={schedule.id}>
                <th scope="row">
                  <Link to={`/schedules/${schedule.id}`}>{schedule.name}</Link>
                </th>
                <td>
                  <code>{schedule.cron}</code> ({schedule.timezone})
                </td>
                <td>{schedule.jobType}</td>
                <td>{schedule.enabled ? 'active' : 'paused'}</td>
                <td>{schedule.nextFireAt ? formatTime(schedule.nextFireAt) : 'none (paused)'}</td>
                <td>
                  {schedule.lastJobId ? (
                    <Link to={`/jobs/${schedule.lastJobId}`}>{formatTime(schedule.lastFiredAt)}</Link>
                  ) : (
                    formatTime(schedule.lastFiredAt)
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {schedules.data?.nextCursor && (
        <button type="button" onClick={() => setParams({ cursor: schedules.data.nextCursor ?? '' })}>
          More schedules
        </button>
      )}
    </>
  );
}
