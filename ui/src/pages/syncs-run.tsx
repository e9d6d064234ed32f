import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { UNFINISHED, useCancelRun } from './syncs';

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
          <dl className="summary">
            <div>
              <dt>Status</dt>
              <dd>
                <span className={`status status-${data.status}`}>{data.status}</span>
              </dd>
            </div>
            <div>
              <dt>Connection</dt>
              <dd>
                <Link to={`/connections/${data.connectionId}`}>{data.connectionId.slice(0, 8)}…</Link>
              </dd>
            </div>
            <div>
              <dt>Type</dt>
              <dd>{data.type}</dd>
            </div>
            <div>
              <dt>Seen</dt>
              <dd>{data.itemsSeen}</dd>
            </div>
            <div>
              <dt>Added</dt>
              <dd>{data.itemsAdded}</dd>
            </div>
            <div>
              <dt>Updated</dt>
              <dd>{data.itemsUpdated}</dd>
            </div>
            <div>
              <dt>Deleted</dt>
              <dd>{data.itemsDeleted}</dd>
            </div>
            <div>
              <dt>Checkpoint before</dt>
              <dd>{data.checkpointBefore ?? 'none (a full sync)'}</dd>
            </div>
            <div>
              <dt>Checkpoint after</dt>
              <dd>{data.checkpointAfter ?? '—'}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatTime(data.startedAt)}</dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>{formatTime(data.finishedAt)}</dd>
            </div>
            {data.error && (
              <div>
                <dt>Error</dt>
                <dd>
                  {data.error.code}: {data.error.message}
                </dd>
              </div>
            )}
            {data.jobId && (
              <div>
                <dt>Job</dt>
                <dd>
                  <Link to={`/jobs/${data.jobId}`}>{data.jobId.slice(0, 8)}…</Link>
                </dd>
              </div>
            )}
          </dl>
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
