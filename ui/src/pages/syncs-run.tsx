import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { UNFINISHED, useCancelRun } from './syncs';
import { StatusBadge, Summary } from '../summary';

/** One sync run: its status, live counters and checkpoints, with Cancel while it has not ended. */
export function SyncRunPage() {
  const { id = '' } = useParams();
  useTitle(`Sync run ${id.slice(0, 8)}`);
  const run = useQuery({
    queryKey: ['sync-run', id],
    queryFn: async () => unwrap(await api.GET('/sync-runs/{id}', { params: { path: { id } } })),
    refetchInterval: 15_000,
  });
  const cancel = useCancelRun(id);
  const data = run.data;
  return (
    <>
      <p>
        <Link to="/syncs">← Syncs</Link>
      </p>
      <h1>Sync run {id}</h1>
      <ErrorMessage error={run.error} />
      {data && (
        <>
          <Summary
            items={[
              [
                'Status',
                <>
                  <StatusBadge>{data.status}</StatusBadge>
                </>,
              ],
              [
                'Connection',
                <>
                  <Link to={`/connections/${data.connectionId}`}>{data.connectionId.slice(0, 8)}…</Link>
                </>,
              ],
              ['Type', data.type],
              ['Seen', data.itemsSeen],
              ['Added', data.itemsAdded],
              ['Updated', data.itemsUpdated],
              ['Deleted', data.itemsDeleted],
              ['Checkpoint before', data.checkpointBefore ?? 'none (a full sync)'],
              ['Checkpoint after', data.checkpointAfter ?? '—'],
              ['Started', formatTime(data.startedAt)],
              ['Finished', formatTime(data.finishedAt)],
              data.error
                ? [
                    'Error',
                    <>
                      {data.error.code}: {data.error.message}
                    </>,
                  ]
                : null,
              data.jobId
                ? [
                    'Job',
                    <>
                      <Link to={`/jobs/${data.jobId}`}>{data.jobId.slice(0, 8)}…</Link>
                    </>,
                  ]
                : null,
            ]}
          />
          {UNFINISHED.includes(data.status) && (
            <div className="actions">
              <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
                Cancel
              </button>
            </div>
          )}
          <ErrorMessage error={cancel.error} />
        </>
      )}
    </>
  );
}
