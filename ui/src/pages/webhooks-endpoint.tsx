import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { unwrapFields } from '../fields';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import {
  AdminsOnly,
  DELIVERY_STATUSES,
  EndpointForm,
  ENDPOINT_FIELDS,
  endpointState,
  useIsAdmin,
  webhookKeys,
} from './webhooks-common';
import type { DeliveryStatus, EndpointFields, WebhookEndpoint } from './webhooks-common';
import { StatusBadge, Summary } from '../summary';

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

/** One endpoint: its settings (edit, disable, delete), its deliveries by status, and recovery. */
export function WebhookEndpointPage() {
  const { id = '' } = useParams();
  useTitle(`Webhook endpoint ${id.slice(0, 8)}`);
  const admin = useIsAdmin();
  const endpoint = useQuery({
    queryKey: webhookKeys.endpoint(id),
    queryFn: async () => unwrap(await api.GET('/webhook-endpoints/{id}', { params: { path: { id } } })),
    enabled: admin,
  });

  return (
    <>
      <p>
        <Link to="/webhooks">← All endpoints</Link>
      </p>
      <h1>Webhook endpoint {endpoint.data?.url ?? id}</h1>
      {!admin ? (
        <AdminsOnly />
      ) : (
        <>
          <ErrorMessage error={endpoint.error} />
          {endpoint.data && (
            <>
              <EndpointSettings endpoint={endpoint.data} />
              <Deliveries endpointId={id} />
              <Recover endpoint={endpoint.data} />
            </>
          )}
        </>
      )}
    </>
  );
}

function EndpointSettings({ endpoint }: { endpoint: WebhookEndpoint }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const onChanged = () => void client.invalidateQueries({ queryKey: webhookKeys.all });
  const update = useMutation({
    mutationFn: async (changes: { fields?: EndpointFields; enabled?: boolean }) => {
      const { fields, enabled } = changes;
      const result = await api.PATCH('/webhook-endpoints/{id}', {
        params: { path: { id: endpoint.id } },
        body: {
          // An emptied description is sent as '' (the API takes no null for it) and shown as none.
          ...(fields ? { ...fields, description: fields.description ?? '' } : {}),
          // The generated types ask for both (they have defaults); unchanged ones are sent as they are.
          ordered: endpoint.ordered,
          enabled: enabled ?? endpoint.enabled,
        },
      });
      return unwrapFields(result, ENDPOINT_FIELDS);
    },
    onSuccess: (updated) => {
      client.setQueryData(webhookKeys.endpoint(endpoint.id), updated);
      setEditing(false);
      onChanged();
    },
  });
  const remove = useMutation({
    mutationFn: async () =>
      unwrap(await api.DELETE('/webhook-endpoints/{id}', { params: { path: { id: endpoint.id } } })),
    onSuccess: () => {
      client.removeQueries({ queryKey: webhookKeys.endpoint(endpoint.id) });
      onChanged();
      void navigate('/webhooks');
    },
  });
  const state = endpointState(endpoint);

  return (
    <section aria-labelledby="settings">
      <h2 id="settings">Settings</h2>
      <Summary
        items={[
          [
            'State',
            <>
              <span className={state.className} data-testid="endpoint-state">
                {state.label}
              </span>
            </>,
          ],
          endpoint.disabledReason ? ['Disabled because', endpoint.disabledReason] : null,
          ['Failing since', formatTime(endpoint.failingSince)],
          ['Event patterns', endpoint.eventPatterns.join(', ')],
          ['Description', endpoint.description || '—'],
          ['Headers', endpoint.headerNames.length > 0 ? endpoint.headerNames.join(', ') : '—'],
          ['Created', formatTime(endpoint.createdAt)],
        ]}
      />
      <div className="actions">
        <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
          Edit
        </button>
        <button
          type="button"
          disabled={update.isPending}
          onClick={() => update.mutate({ enabled: !endpoint.enabled })}
        >
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
        {confirmDelete ? (
          <>
            <button type="button" disabled={remove.isPending} onClick={() => remove.mutate()}>
              Delete the endpoint and its deliveries
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
        )}
      </div>
      {editing && (
        <EndpointForm
          initial={endpoint}
          submitLabel="Save changes"
          pending={update.isPending}
          error={update.error}
          onSubmit={(fields) => update.mutate({ fields })}
        />
      )}
      <ErrorMessage error={update.error ?? remove.error} />
    </section>
  );
}

/** The endpoint's deliveries, oldest first; the status filter and the page live in the URL. */
function Deliveries({ endpointId }: { endpointId: string }) {
  const [params, setParams] = useSearchParams();
  const status = (DELIVERY_STATUSES as string[]).includes(params.get('status') ?? '')
    ? (params.get('status') as DeliveryStatus)
    : undefined;
  const cursor = params.get('cursor') ?? undefined;
  const deliveries = useQuery({
    queryKey: [...webhookKeys.deliveries(endpointId), { status, cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/webhook-endpoints/{id}/deliveries', {
          params: {
            path: { id: endpointId },
            query: { limit: PAGE_SIZE, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
    // The live stream moves the list; polling is the fallback while it is down.
    refetchInterval: 15_000,
  });
  const filter = (next: string) => setParams(next ? { status: next } : {});

  return (
    <section aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries</h2>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select value={status ?? ''} onChange={(event) => filter(event.target.value)}>
            <option value="">any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorMessage error={deliveries.error} />
      {deliveries.isPending && <p>Loading…</p>}
      {deliveries.data && deliveries.data.items.length === 0 && <p>No delivery matches.</p>}
      {deliveries.data && deliveries.data.items.length > 0 && (
        <table>
          <caption>Deliveries{status ? `, ${status}` : ''}, oldest first, moving live</caption>
          <thead>
            <tr>
              <th scope="col">Delivery</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next attempt</th>
              <th scope="col">Created</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data.items.map((delivery) => (
              <tr key={delivery.id}>
                <th scope="row">
                  <Link to={`/webhook-deliveries/${delivery.id}`}>{delivery.id.slice(0, 8)}…</Link>
                </th>
                <td>{delivery.eventName}</td>
                <td>
                  <StatusBadge>{delivery.status}</StatusBadge>
                </td>
                <td>{delivery.attemptCount}</td>
                <td>{formatTime(delivery.nextAttemptAt)}</td>
                <td>{formatTime(delivery.createdAt)}</td>
                <td>{delivery.lastError ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deliveries.data?.nextCursor && (
        <button
          type="button"
          onClick={() => {
            const next = new URLSearchParams(params);
            next.set('cursor', deliveries.data.nextCursor ?? '');
            setParams(next);
          }}
        >
          Later deliveries
        </button>
      )}
    </section>
  );
}

/** A `datetime-local` value (the browser's own time zone), `ms` ago. */
function localInputValue(ms: number): string {
  const at = new Date(Date.now() - ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** Sends every delivery that failed since a time once more (POST /webhook-endpoints/{id}/recover). */
function Recover({ endpoint }: { endpoint: WebhookEndpoint }) {
  const client = useQueryClient();
  const [since, setSince] = useState(() => localInputValue(DAY_MS));
  const recover = useMutation({
    mutationFn: async (at: string) =>
      unwrap(
        await api.POST('/webhook-endpoints/{id}/recover', {
          params: { path: { id: endpoint.id } },
          body: { since: at },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: webhookKeys.deliveries(endpoint.id) }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    recover.mutate(new Date(since).toISOString());
  };
  return (
    <section aria-labelledby="recover">
      <h2 id="recover">Recover</h2>
      <p>Send every delivery that failed since a time once more, once each (an enabled endpoint only).</p>
      <form className="filters" onSubmit={submit} aria-label="Recover failed deliveries">
        <label>
          Failed since (your local time)
          <input
            type="datetime-local"
            required
            value={since}
            onChange={(event) => setSince(event.target.value)}
          />
        </label>
        <button type="submit" disabled={recover.isPending || !since}>
          Recover
        </button>
      </form>
      {recover.data && (
        <p role="status">
          {recover.data.resent === 1 ? '1 failed delivery' : `${recover.data.resent} failed deliveries`} sent
          again
        </p>
      )}
      <ErrorMessage error={recover.error} />
    </section>
  );
}
