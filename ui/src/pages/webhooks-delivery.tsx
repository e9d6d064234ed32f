import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatJson, formatTime } from '../format';
import { useTitle } from '../layout';
import { AdminsOnly, useIsAdmin, webhookKeys } from './webhooks-common';
import { StatusBadge, Summary } from '../summary';

/** One delivery of an event to an endpoint: every attempt, the body sent, and Resend. */
export function WebhookDeliveryPage() {
  const { id = '' } = useParams();
  useTitle(`Webhook delivery ${id.slice(0, 8)}`);
  const admin = useIsAdmin();
  const client = useQueryClient();
  const delivery = useQuery({
    queryKey: webhookKeys.delivery(id),
    queryFn: async () => unwrap(await api.GET('/webhook-deliveries/{id}', { params: { path: { id } } })),
    enabled: admin,
    // A pending delivery is followed until it settles (the live stream also refreshes it).
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 2000 : false),
  });
  const resend = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST('/webhook-deliveries/{id}/resend', { params: { path: { id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: webhookKeys.all }),
  });
  const data = delivery.data;

  return (
    <>
      <p>
        {data ? (
          <Link to={`/webhooks/${data.endpointId}`}>← The endpoint’s deliveries</Link>
        ) : (
          <Link to="/webhooks">← All endpoints</Link>
        )}
      </p>
      <h1>Webhook delivery {id}</h1>
      {!admin ? (
        <AdminsOnly />
      ) : (
        <>
          <ErrorMessage error={delivery.error} />
          {data && (
            <>
              <Summary
                items={[
                  ['Status', <StatusBadge testId="delivery-status">{data.status}</StatusBadge>],
                  [
                    'Event',
                    <>
                      {data.eventName} ({data.eventId})
                    </>,
                  ],
                  ['Attempts', data.attemptCount],
                  ['Next attempt', formatTime(data.nextAttemptAt)],
                  ['Created', formatTime(data.createdAt)],
                  data.lastError ? ['Last error', data.lastError] : null,
                ]}
              />
              {data.status !== 'pending' && (
                <div className="actions">
                  <button type="button" disabled={resend.isPending} onClick={() => resend.mutate()}>
                    Resend
                  </button>
                </div>
              )}
              {resend.isSuccess && data.status === 'pending' && (
                <p role="status">Sent again; waiting for the answer…</p>
              )}
              <ErrorMessage error={resend.error} />
              <section aria-labelledby="attempts">
                <h2 id="attempts">Attempts</h2>
                {data.attempts.length === 0 ? (
                  <p>Not attempted yet.</p>
                ) : (
                  <table>
                    <caption>Every attempt, resends included, first to last</caption>
                    <thead>
                      <tr>
                        <th scope="col">Attempt</th>
                        <th scope="col">Status code</th>
                        <th scope="col">Duration</th>
                        <th scope="col">Started</th>
                        <th scope="col">Response (first 1 KB)</th>
                        <th scope="col">Error</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.attempts.map((attempt) => (
                        <tr key={attempt.attempt}>
                          <th scope="row">{attempt.attempt}</th>
                          <td>{attempt.statusCode ?? 'no answer'}</td>
                          <td>{attempt.durationMs} ms</td>
                          <td>{formatTime(attempt.startedAt)}</td>
                          <td>{attempt.response ? <code>{attempt.response}</code> : '—'}</td>
                          <td>{attempt.error ?? ''}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
              <section aria-labelledby="body">
                <h2 id="body">Body sent</h2>
                <pre tabIndex={0}>{readableBody(data.body)}</pre>
              </section>
            </>
          )}
        </>
      )}
    </>
  );
}

/** The JSON sent, indented for reading; as sent when it is not JSON. */
function readableBody(body: string): string {
  try {
    return formatJson(JSON.parse(body));
  } catch {
    return body;
  }
}
