import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { StatusBadge } from '../summary';

export type Provider = Schemas['ProviderDto'];
export type Connection = Schemas['ConnectionDto'];

export function useProviders() {
  return useQuery({
    queryKey: ['providers'],
    queryFn: async () => unwrap(await api.GET('/providers')),
    staleTime: 5 * 60_000,
  });
}

const STATES = ['active', 'paused', 'bad_authentication'] as const satisfies Connection['state'][];
const PAGE_SIZE = 50;

/** Connections, filtered by provider and state in the URL; every account sees its own, operators all. */
export function ConnectionsPage() {
  useTitle('Connections');
  const [params, setParams] = useSearchParams();
  const provider = params.get('provider') ?? '';
  const state = params.get('state') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const [draft, setDraft] = useState({ provider, state });
  const providers = useProviders();

  const connections = useQuery({
    queryKey: ['connections', { provider, state, cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/connections', {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(provider ? { provider } : {}),
              ...(state ? { state: state as Connection['state'] } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    refetchInterval: 15_000,
  });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of Object.entries(draft)) if (value) next.set(key, value);
    setParams(next);
  };
  const nextPage = () => {
    if (!connections.data?.nextCursor) return;
    const next = new URLSearchParams(params);
    next.set('cursor', connections.data.nextCursor);
    setParams(next);
  };
  const items = connections.data?.items ?? [];

  return (
    <>
      <h1>Connections</h1>
      <p>
        <Link to="/connections/new">New connection</Link>
      </p>
      <form className="filters" onSubmit={apply} aria-label="Filter connections" key={`${provider}|${state}`}>
        <label>
          Provider
          <select
            defaultValue={provider}
            onChange={(event) => setDraft({ ...draft, provider: event.target.value })}
          >
            <option value="">any</option>
            {(providers.data ?? []).map((p) => (
              <option key={p.key} value={p.key}>
                {p.title} ({p.key})
              </option>
            ))}
            {provider && !providers.data?.some((p) => p.key === provider) && (
              <option value={provider}>{provider}</option>
            )}
          </select>
        </label>
        <label>
          State
          <select
            defaultValue={state}
            onChange={(event) => setDraft({ ...draft, state: event.target.value })}
          >
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={connections.error} />
      {connections.isPending && <p>Loading…</p>}
      {connections.data && items.length === 0 && <p>No connection matches.</p>}
      {items.length > 0 && (
        <table>
          <caption>
            {items.length} connection{items.length === 1 ? '' : 's'}
            {provider ? `, provider ${provider}` : ''}
            {state ? `, ${state}` : ''}, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">State</th>
              <th scope="col">Credentials</th>
              <th scope="col">Last used</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {items.map((connection) => (
              <tr key={connection.id}>
                <th scope="row">
                  <Link to={`/connections/${connection.id}`}>{connection.name}</Link>
                </th>
                <td>{connection.provider}</td>
                <td>
                  <StatusBadge>{connection.state}</StatusBadge>
                </td>
                <td>
                  {connection.credentials.type}
                  {connection.credentials.hint ? ` ${connection.credentials.hint}` : ''}
                </td>
                <td>{formatTime(connection.lastUsedAt)}</td>
                <td>
                  {connection.lastError
                    ? `${connection.lastError.code}: ${connection.lastError.message}`
                    : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {connections.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          More connections
        </button>
      )}
    </>
  );
}
