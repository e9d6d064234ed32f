import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { StatusBadge } from '../summary';

export type SyncRun = Schemas['SyncRunDto'];
type StatusEntry = Schemas['SyncStatusEntryDto'];
/** The runs that have not ended, which Cancel stops. */
export const UNFINISHED: SyncRun['status'][] = ['queued', 'running', 'paused'];
/** The live stream moves these; polling is only the fallback while it is down. */
const FALLBACK_REFRESH_MS = 15_000;

/** Query keys the live stream's `sync-runs` messages make stale (see live.tsx). */
export const SYNC_QUERY_KEYS = [['sync-status'], ['sync-runs'], ['sync-run']] as const;

/**
 * Syncs of one account (`?account=`, one's own by default): per connection and content type its
 * last run with live counters, and the account's runs. Operators choose among every account
 * that has connections; the API lets any account act on its own syncs.
 */
export function SyncsPage() {
  useTitle('Syncs');
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const own = session.data?.account.id ?? '';
  const accountId = params.get('account') ?? own;
  const operator = session.data ? roleAtLeast(session.data.role, 'operator') : false;

  const status = useQuery({
    queryKey: ['sync-status', accountId],
    queryFn: async () =>
      unwrap(await api.GET('/accounts/{id}/sync-status', { params: { path: { id: accountId } } })),
    enabled: accountId !== '',
    refetchInterval: FALLBACK_REFRESH_MS,
  });
  const runs = useQuery({
    queryKey: ['sync-runs', accountId],
    queryFn: async () =>
      unwrap(await api.GET('/accounts/{id}/sync-runs', { params: { path: { id: accountId } } })),
    enabled: accountId !== '',
    refetchInterval: FALLBACK_REFRESH_MS,
  });

  return (
    <>
      <h1>Syncs</h1>
      {operator && (
        <AccountChooser
          value={accountId}
          own={own}
          onChange={(id) => setParams(id === own ? {} : { account: id })}
        />
      )}
      <section aria-labelledby="by-connection">
        <h2 id="by-connection">By connection and content type</h2>
        <ErrorMessage error={status.error} />
        {status.isPending && <p>Loading…</p>}
        {status.data && <StatusTable accountId={accountId} entries={status.data.items} />}
      </section>
      <section aria-labelledby="runs">
        <h2 id="runs">Runs</h2>
        <ErrorMessage error={runs.error} />
        {runs.data && <RunsTable runs={runs.data.items} entries={status.data?.items ?? []} />}
      </section>
    </>
  );
}

/** The accounts an operator may look at: those with connections (listing accounts is for admins). */
function AccountChooser({
  value,
  own,
  onChange,
}: {
  value: string;
  own: string;
  onChange: (id: string) => void;
}) {
  const connections = useQuery({
    queryKey: ['connections', 'accounts'],
    queryFn: async () => unwrap(await api.GET('/connections', { params: { query: { limit: 200 } } })),
  });
  const ids = [...new Set([own, value, ...(connections.data?.items ?? []).map((c) => c.accountId)])].filter(
    Boolean,
  );
  return (
    <form className="filters" aria-label="Choose an account" onSubmit={(event) => event.preventDefault()}>
      <label>
        Account
        <select value={value} onChange={(event) => onChange(event.target.value)}>
          {ids.map((id) => (
            <option key={id} value={id}>
              {id === own ? `${id} (yours)` : id}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

function useSyncMutation<T>(run: () => Promise<T>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => {
      for (const queryKey of SYNC_QUERY_KEYS) void client.invalidateQueries({ queryKey });
      void client.invalidateQueries({ queryKey: ['connection'] });
    },
  });
}

function StatusTable({ accountId, entries }: { accountId: string; entries: StatusEntry[] }) {
  if (entries.length === 0) return <p>No connection of this account syncs anything.</p>;
  const byConnection = new Map<string, StatusEntry[]>();
  for (const entry of entries)
    byConnection.set(entry.connectionId, [...(byConnection.get(entry.connectionId) ?? []), entry]);
  return (
    <>
      {[...byConnection.values()].map((group) => (
        <ConnectionSyncs key={group[0].connectionId} accountId={accountId} entries={group} />
      ))}
    </>
  );
}

/** One connection's content types, with the actions on its syncs. */
function ConnectionSyncs({ accountId, entries }: { accountId: string; entries: StatusEntry[] }) {
  const first = entries[0];
  const connectionId = first.connectionId;
  const path = { params: { path: { id: connectionId } } };
  const syncNow = useSyncMutation(async () =>
    unwrap(
      await api.POST('/accounts/{id}/syncs', {
        params: { path: { id: accountId } },
        body: { connections: [connectionId] },
      }),
    ),
  );
  const pause = useSyncMutation(async () => unwrap(await api.POST('/connections/{id}/syncs/pause', path)));
  const resume = useSyncMutation(async () => unwrap(await api.POST('/connections/{id}/syncs/resume', path)));
  const headingId = `connection-${connectionId}`;
  return (
    <section aria-labelledby={headingId} className="sync-connection">
      <h3 id={headingId}>
        <Link to={`/connections/${connectionId}`}>{first.connectionName}</Link> ({first.provider},{' '}
        {first.state})
      </h3>
      <div className="actions">
        <button
          type="button"
          onClick={() => syncNow.mutate()}
          disabled={syncNow.isPending || first.state !== 'active'}
          aria-label={`Sync now: ${first.connectionName}`}
        >
          Sync now
        </button>
        {first.syncsPausedAt ? (
          <button
            type="button"
            onClick={() => resume.mutate()}
            disabled={resume.isPending}
            aria-label={`Resume syncs of ${first.connectionName}`}
          >
            Resume syncs
          </button>
        ) : (
          <button
            type="button"
            onClick={() => pause.mutate()}
            disabled={pause.isPending}
            aria-label={`Pause syncs of ${first.connectionName}`}
          >
            Pause syncs
          </button>
        )}
        {first.syncsPausedAt && <span>Paused since {formatTime(first.syncsPausedAt)}</span>}
      </div>
      <ErrorMessage error={syncNow.error ?? pause.error ?? resume.error} />
      <table>
        <caption>Content types of {first.connectionName}</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Last run</th>
            <th scope="col">Seen</th>
            <th scope="col">Added</th>
            <th scope="col">Updated</th>
            <th scope="col">Deleted</th>
            <th scope="col">Records</th>
            <th scope="col">Last synced</th>
            <th scope="col">Next sync</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <TypeRow key={entry.type} entry={entry} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function TypeRow({ entry }: { entry: StatusEntry }) {
  const path = { params: { path: { id: entry.connectionId } } };
  const body = { types: [entry.type] };
  const [confirmClear, setConfirmClear] = useState(false);
  const restart = useSyncMutation(async () =>
    unwrap(await api.POST('/connections/{id}/syncs/restart', { ...path, body })),
  );
  const clear = useSyncMutation(async () => {
    const cleared = unwrap(await api.POST('/connections/{id}/syncs/clear', { ...path, body }));
    setConfirmClear(false);
    return cleared;
  });
  const run = entry.lastRun;
  const what = `${entry.type} of ${entry.connectionName}`;
  return (
    <tr>
      <th scope="row">
        {entry.type}
        {entry.enabled ? '' : ' (not synced)'}
      </th>
      <td>
        {run ? (
          <>
            <Link to={`/syncs/runs/${run.id}`}>
              <StatusBadge>{run.status}</StatusBadge>
            </Link>
            {run.error && ` ${run.error.code}: ${run.error.message}`}
          </>
        ) : (
          'never'
        )}
      </td>
      <td>{run?.itemsSeen ?? '—'}</td>
      <td>{run?.itemsAdded ?? '—'}</td>
      <td>{run?.itemsUpdated ?? '—'}</td>
      <td>{run?.itemsDeleted ?? '—'}</td>
      <td>{entry.records}</td>
      <td>{formatTime(entry.lastSyncedAt)}</td>
      <td>{formatTime(entry.nextSyncAt)}</td>
      <td>
        <div className="actions">
          <button
            type="button"
            onClick={() => restart.mutate()}
            disabled={restart.isPending}
            aria-label={`Restart ${what} from nothing`}
          >
            Restart
          </button>
          {confirmClear ? (
            <>
              <button
                type="button"
                className="danger"
                onClick={() => clear.mutate()}
                disabled={clear.isPending}
                aria-label={`Delete records of ${what}`}
              >
                Delete records
              </button>
              <button type="button" className="secondary" onClick={() => setConfirmClear(false)}>
                Keep
              </button>
            </>
          ) : (
            <button
              type="button"
              className="danger"
              onClick={() => setConfirmClear(true)}
              aria-label={`Clear ${what}`}
            >
              Clear
            </button>
          )}
        </div>
        <ErrorMessage error={restart.error ?? clear.error} />
        {clear.data && (
          <p role="status">
            {clear.data.records} records and {clear.data.checkpoints} checkpoints deleted
          </p>
        )}
      </td>
    </tr>
  );
}

function RunsTable({ runs, entries }: { runs: SyncRun[]; entries: StatusEntry[] }) {
  if (runs.length === 0) return <p>No run yet.</p>;
  const names = new Map(entries.map((entry) => [entry.connectionId, entry.connectionName]));
  return (
    <table>
      <caption>The account’s runs, newest first; counters move while a run runs</caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Connection</th>
          <th scope="col">Type</th>
          <th scope="col">Status</th>
          <th scope="col">Seen</th>
          <th scope="col">Added</th>
          <th scope="col">Updated</th>
          <th scope="col">Deleted</th>
          <th scope="col">Started</th>
          <th scope="col">Finished</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <RunRow key={run.id} run={run} connectionName={names.get(run.connectionId) ?? run.connectionId} />
        ))}
      </tbody>
    </table>
  );
}

function RunRow({ run, connectionName }: { run: SyncRun; connectionName: string }) {
  const cancel = useCancelRun(run.id);
  return (
    <tr>
      <th scope="row">
        <Link to={`/syncs/runs/${run.id}`}>{run.id.slice(0, 8)}…</Link>
      </th>
      <td>{connectionName}</td>
      <td>{run.type}</td>
      <td>
        <StatusBadge>{run.status}</StatusBadge>
        {run.error && ` ${run.error.code}: ${run.error.message}`}
      </td>
      <td>{run.itemsSeen}</td>
      <td>{run.itemsAdded}</td>
      <td>{run.itemsUpdated}</td>
      <td>{run.itemsDeleted}</td>
      <td>{formatTime(run.startedAt)}</td>
      <td>{formatTime(run.finishedAt)}</td>
      <td>
        {UNFINISHED.includes(run.status) && (
          <button
            type="button"
            onClick={() => cancel.mutate()}
            disabled={cancel.isPending}
            aria-label={`Cancel run ${run.id.slice(0, 8)}`}
          >
            Cancel
          </button>
        )}
        <ErrorMessage error={cancel.error} />
      </td>
    </tr>
  );
}

export function useCancelRun(id: string) {
  return useSyncMutation(async () =>
    unwrap(await api.POST('/sync-runs/{id}/cancel', { params: { path: { id } } })),
  );
}
