import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { JobStatus } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { StatusBadge } from '../summary';

export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled'];
/** The states `POST /jobs/retry` takes. */
const RETRYABLE = ['dead', 'failed', 'cancelled'] as const;
type Retryable = (typeof RETRYABLE)[number];
const PAGE_SIZE = 50;

/** The filters live in the URL, so a filtered list can be linked to (the overview's dead jobs). */
export function JobsPage() {
  useTitle('Jobs');
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const type = params.get('type') ?? '';
  const queue = params.get('queue') ?? '';
  // Instants in the URL (ISO 8601), edited as the browser's local time.
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const [draft, setDraft] = useState({ status, type, queue, from: toLocalInput(from), to: toLocalInput(to) });

  const jobs = useQuery({
    queryKey: ['jobs', { status, type, queue, from, to, cursor }],
    queryFn: async () =>
      unwrap(
        await api.GET('/jobs', {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(status ? { status: status as JobStatus } : {}),
              ...(type ? { type } : {}),
              ...(queue ? { queue } : {}),
              ...(from ? { from } : {}),
              ...(to ? { to } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    refetchInterval: 5000,
  });

  const client = useQueryClient();
  const session = useSession();
  const retryable = (RETRYABLE as readonly string[]).includes(status) ? (status as Retryable) : null;
  // Every job matching the filter, not only this page's: one request, POST /jobs/retry.
  const retryAll = useMutation({
    mutationFn: async (filter: {
      status: Retryable;
      type?: string;
      queue?: string;
      from?: string;
      to?: string;
    }) => unwrap(await api.POST('/jobs/retry', { body: { filter } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['jobs'] });
      void client.invalidateQueries({ queryKey: ['queues'] });
    },
  });
  const mayRetry = retryable !== null && session.data && roleAtLeast(session.data.role, 'operator');

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const key of ['status', 'type', 'queue'] as const)
      if (draft[key].trim()) next.set(key, draft[key].trim());
    for (const key of ['from', 'to'] as const)
      if (draft[key]) next.set(key, new Date(draft[key]).toISOString());
    setParams(next);
  };
  const nextPage = () => {
    if (!jobs.data?.nextCursor) return;
    const next = new URLSearchParams(params);
    next.set('cursor', jobs.data.nextCursor);
    setParams(next);
  };

  return (
    <>
      <h1>Jobs</h1>
      <form
        className="filters"
        onSubmit={apply}
        aria-label="Filter jobs"
        key={`${status}|${type}|${queue}|${from}|${to}`}
      >
        <label>
          Status
          <select
            defaultValue={status}
            onChange={(event) => setDraft({ ...draft, status: event.target.value })}
          >
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <input defaultValue={type} onChange={(event) => setDraft({ ...draft, type: event.target.value })} />
        </label>
        <label>
          Queue
          <input
            defaultValue={queue}
            onChange={(event) => setDraft({ ...draft, queue: event.target.value })}
          />
        </label>
        <label>
          Created from
          <input
            type="datetime-local"
            defaultValue={draft.from}
            onChange={(event) => setDraft({ ...draft, from: event.target.value })}
          />
        </label>
        <label>
          Created before
          <input
            type="datetime-local"
            defaultValue={draft.to}
            onChange={(event) => setDraft({ ...draft, to: event.target.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      {mayRetry && jobs.data && jobs.data.items.length > 0 && (
        <p>
          <button
            type="button"
            disabled={retryAll.isPending}
            onClick={() =>
              retryAll.mutate({
                status: retryable,
                ...(type ? { type } : {}),
                ...(queue ? { queue } : {}),
                ...(from ? { from } : {}),
                ...(to ? { to } : {}),
              })
            }
          >
            Retry every {retryable} job matching
          </button>
        </p>
      )}
      {/* Outside the button's paragraph: the retried jobs leave the list, and the button with them. */}
      {retryAll.data && (
        <p role="status">
          {retryAll.data.retried === 1 ? '1 job' : `${retryAll.data.retried} jobs`} queued to run again
        </p>
      )}
      <ErrorMessage error={retryAll.error} />
      <ErrorMessage error={jobs.error} />
      {jobs.isPending && <p>Loading…</p>}
      {jobs.data && jobs.data.items.length === 0 && <p>No job matches.</p>}
      {jobs.data && jobs.data.items.length > 0 && (
        <table>
          <caption>
            {jobs.data.items.length} job{jobs.data.items.length === 1 ? '' : 's'}
            {status ? `, ${status}` : ''}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Type</th>
              <th scope="col">Queue</th>
              <th scope="col">Status</th>
              <th scope="col">Attempt</th>
              <th scope="col">Created</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.items.map((job) => (
              <tr key={job.id}>
                <th scope="row">
                  <Link to={`/jobs/${job.id}`}>{job.id.slice(0, 8)}…</Link>
                </th>
                <td>{job.type}</td>
                <td>{job.queue}</td>
                <td>
                  <StatusBadge>{job.status}</StatusBadge>
                </td>
                <td>
                  {job.attempt} of {job.maxAttempts}
                </td>
                <td>{formatTime(job.createdAt)}</td>
                <td>{job.lastError?.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {jobs.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          Older jobs
        </button>
      )}
    </>
  );
}

/** An ISO instant as a datetime-local input's value, in the browser's time zone ("" when none or invalid). */
function toLocalInput(iso: string): string {
  const time = new Date(iso);
  if (!iso || Number.isNaN(time.getTime())) return '';
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
