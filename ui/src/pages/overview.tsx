import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatAge, formatTime } from '../format';
import { useTitle } from '../layout';
import { ThroughputChart } from './throughput-chart';
import { useIsAdmin, webhookKeys } from './webhooks-common';

const REFRESH_MS = 5000;
const CONNECTION_STATES = ['active', 'paused', 'bad_authentication'] as const;
type ConnectionState = (typeof CONNECTION_STATES)[number];
const STATE_LABELS: Record<ConnectionState, string> = {
  active: 'Active',
  paused: 'Paused',
  bad_authentication: 'Bad authentication',
};
/** Counting stops here: more than this many is "100+", which is enough to say where to look. */
const COUNT_LIMIT = 100;
/** The job type of a sync run: a run runs while its job does, so the jobs list counts them across accounts. */
const SYNC_RUN_JOB_TYPE = 'syncs.run';
/** Endpoints read to find the failing ones; more than this many endpoints is beyond an overview. */
const ENDPOINTS_READ = 200;

export function OverviewPage() {
  useTitle('Overview');
  const isAdmin = useIsAdmin();
  const queues = useQuery({
    queryKey: ['queues'],
    queryFn: async () => unwrap(await api.GET('/queues')),
    refetchInterval: REFRESH_MS,
  });
  const connections = useQuery({
    queryKey: ['connections', 'by-state'],
    queryFn: () => Promise.all(CONNECTION_STATES.map(countConnections)),
    refetchInterval: REFRESH_MS,
  });
  // Under 'jobs', so the live stream's job changes refresh it.
  const syncsRunning = useQuery({
    queryKey: ['jobs', 'sync-runs-running'],
    queryFn: async () => {
      const page = unwrap(
        await api.GET('/jobs', {
          params: { query: { status: 'running', type: SYNC_RUN_JOB_TYPE, limit: COUNT_LIMIT } },
        }),
      );
      return page.nextCursor ? `${COUNT_LIMIT}+` : String(page.items.length);
    },
    refetchInterval: REFRESH_MS,
  });
  const dead = (queues.data ?? []).reduce((sum, queue) => sum + queue.counts.dead, 0);

  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="needs-a-hand">
        <h2 id="needs-a-hand">Needs a hand</h2>
        <p>
          {queues.data ? (
            <Link to="/jobs?status=dead" className={dead > 0 ? 'alarm' : undefined}>
              {dead === 1 ? '1 dead job' : `${dead} dead jobs`}
            </Link>
          ) : (
            'Dead jobs: …'
          )}
        </p>
        <p>
          {syncsRunning.data ? (
            <Link to="/syncs">
              {syncsRunning.data === '1' ? '1 sync running' : `${syncsRunning.data} syncs running`}
            </Link>
          ) : (
            'Syncs running: …'
          )}
        </p>
        <ErrorMessage error={syncsRunning.error} />
        {isAdmin && <FailingEndpoints />}
      </section>
      <section aria-labelledby="queues">
        <h2 id="queues">Queues</h2>
        <ErrorMessage error={queues.error} />
        {queues.data && <QueueTable queues={queues.data} />}
      </section>
      <section aria-labelledby="throughput">
        <h2 id="throughput">Successes and failures, last hour</h2>
        <ThroughputChart />
      </section>
      <section aria-labelledby="connections">
        <h2 id="connections">Connections by state</h2>
        <ErrorMessage error={connections.error} />
        {connections.data && (
          <dl className="counts">
            {connections.data.map(({ state, count }) => (
              <div key={state}>
                <dt>{STATE_LABELS[state]}</dt>
                <dd>{count}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
    </>
  );
}

/** Endpoints disabled or failing since their last success, each a link to its page (admins only, as the API). */
function FailingEndpoints() {
  const endpoints = useQuery({
    queryKey: [...webhookKeys.endpoints, 'failing'],
    queryFn: async () => {
      const page = unwrap(
        await api.GET('/webhook-endpoints', { params: { query: { limit: ENDPOINTS_READ } } }),
      );
      return page.items.filter((endpoint) => !endpoint.enabled || endpoint.failingSince !== null);
    },
    refetchInterval: REFRESH_MS,
  });
  if (endpoints.error) return <ErrorMessage error={endpoints.error} />;
  if (!endpoints.data) return <p>Webhook endpoints failing: …</p>;
  const failing = endpoints.data;
  return (
    <>
      <p>
        <Link to="/webhooks" className={failing.length > 0 ? 'alarm' : undefined}>
          {failing.length === 1
            ? '1 webhook endpoint failing'
            : `${failing.length} webhook endpoints failing`}
        </Link>
      </p>
      {failing.length > 0 && (
        <ul aria-label="Webhook endpoints failing">
          {failing.map((endpoint) => (
            <li key={endpoint.id}>
              <Link to={`/webhooks/${endpoint.id}`}>{endpoint.url}</Link>{' '}
              {endpoint.enabled
                ? `failing since ${formatTime(endpoint.failingSince)}`
                : `disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function QueueTable({ queues }: { queues: Schemas['QueueStatsDto'][] }) {
  if (queues.length === 0) return <p>No queue has had a job yet.</p>;
  return (
    <table>
      <caption>Jobs per queue, refreshed every few seconds</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Running</th>
          <th scope="col">Oldest waiting</th>
          <th scope="col">Failed, retrying</th>
          <th scope="col">Dead</th>
          <th scope="col">Succeeded last minute</th>
        </tr>
      </thead>
      <tbody>
        {queues.map((queue) => (
          <tr key={queue.queue}>
            <th scope="row">
              <Link to={`/jobs?queue=${encodeURIComponent(queue.queue)}`}>{queue.queue}</Link>
            </th>
            <td>{queue.counts.queued}</td>
            <td>{queue.running}</td>
            <td>{queue.counts.queued > 0 ? formatAge(queue.oldestQueuedAgeSeconds) : '—'}</td>
            <td>{queue.counts.failed}</td>
            <td>
              {queue.counts.dead > 0 ? (
                <Link to={`/jobs?status=dead&queue=${encodeURIComponent(queue.queue)}`}>
                  {queue.counts.dead}
                </Link>
              ) : (
                0
              )}
            </td>
            <td>{queue.succeededLastMinute}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

async function countConnections(state: ConnectionState): Promise<{ state: ConnectionState; count: string }> {
  const page = unwrap(await api.GET('/connections', { params: { query: { state, limit: COUNT_LIMIT } } }));
  return { state, count: page.nextCursor ? `${COUNT_LIMIT}+` : String(page.items.length) };
}
