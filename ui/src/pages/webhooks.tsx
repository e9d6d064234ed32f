import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { AdminsOnly, endpointState, useIsAdmin, webhookKeys } from './webhooks-common';

const PAGE_SIZE = 50;

/** The outbound webhook endpoints, oldest first; failing and disabled ones stand out. */
export function WebhooksPage() {
  useTitle('Webhooks');
  const admin = useIsAdmin();
  const [params, setParams] = useSearchParams();
  const cursor = params.get('cursor') ?? undefined;
  const endpoints = useQuery({
    queryKey: [...webhookKeys.endpoints, { cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/webhook-endpoints', {
          params: { query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
        }),
      ),
    enabled: admin,
    refetchInterval: 10_000,
  });

  return (
    <>
      <h1>Webhooks</h1>
      {!admin ? (
        <AdminsOnly />
      ) : (
        <>
          <p>
            <Link to="/webhooks/new">New endpoint</Link>
          </p>
          <ErrorMessage error={endpoints.error} />
          {endpoints.isPending && <p>Loading…</p>}
          {endpoints.data && endpoints.data.items.length === 0 && <p>No webhook endpoint yet.</p>}
          {endpoints.data && endpoints.data.items.length > 0 && (
            <table>
              <caption>Webhook endpoints, oldest first</caption>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Event patterns</th>
                  <th scope="col">State</th>
                  <th scope="col">Failing since</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {endpoints.data.items.map((endpoint) => {
                  const state = endpointState(endpoint);
                  return (
                    <tr key={endpoint.id}>
                      <th scope="row">
                        <Link to={`/webhooks/${endpoint.id}`}>{endpoint.url}</Link>
                      </th>
                      <td>{endpoint.eventPatterns.join(', ')}</td>
                      <td>
                        <span className={state.className}>{state.label}</span>
                        {endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}
                      </td>
                      <td>{formatTime(endpoint.failingSince)}</td>
                      <td>{endpoint.description ?? ''}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          {endpoints.data?.nextCursor && (
            <button type="button" onClick={() => setParams({ cursor: endpoints.data.nextCursor ?? '' })}>
              More endpoints
            </button>
          )}
        </>
      )}
    </>
  );
}
