import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatJson, formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { StatusBadge, Summary } from '../summary';

type EventDetails = Schemas['EventDetailsDto'];
const UNFINISHED = ['queued', 'running', 'failed'];

/** One event: what it carried, the jobs it started (replays included), and Replay. */
export function EventPage() {
  const { id = '' } = useParams();
  useTitle(`Event ${id.slice(0, 8)}`);
  const session = useSession();
  const client = useQueryClient();
  const event = useQuery({
    queryKey: ['event', id],
    queryFn: async () => unwrap(await api.GET('/events/{id}', { params: { path: { id } } })),
    // Followed while one of its jobs is still under way.
    refetchInterval: (query) =>
      query.state.data?.jobs.some((job) => UNFINISHED.includes(job.status)) ? 1000 : false,
  });
  const replay = useMutation({
    mutationFn: async () => unwrap(await api.POST('/events/{id}/replay', { params: { path: { id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['event', id] });
      void client.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
  const mayReplay = session.data ? roleAtLeast(session.data.role, 'operator') : false;

  return (
    <>
      <p>
        <Link to="/events">← All events</Link>
      </p>
      <h1>Event {id}</h1>
      <ErrorMessage error={event.error} />
      {event.data && (
        <>
          <EventSummary event={event.data} />
          {mayReplay && (
            <div className="actions">
              <button type="button" onClick={() => replay.mutate()} disabled={replay.isPending}>
                Replay
              </button>
            </div>
          )}
          {replay.data && (
            <p role="status">
              Replayed with the current routes:{' '}
              {replay.data.jobIds.length === 1 ? '1 new job' : `${replay.data.jobIds.length} new jobs`}.
            </p>
          )}
          <ErrorMessage error={replay.error} />
          <EventJobs event={event.data} />
          <section aria-labelledby="event-data">
            <h2 id="event-data">Data</h2>
            <pre tabIndex={0}>{formatJson(event.data.data)}</pre>
          </section>
        </>
      )}
    </>
  );
}

function EventSummary({ event }: { event: EventDetails }) {
  return (
    <Summary
      items={[
        ['Name', event.name],
        ['Source', event.source],
        ['Occurred', formatTime(event.occurredAt)],
        ['Received', formatTime(event.receivedAt)],
        ['Idempotency key', event.idempotencyKey ?? '—'],
        event.causedByJob
          ? [
              'Reports the outcome of',
              <>
                <Link to={`/jobs/${event.causedByJob}`}>job {event.causedByJob.slice(0, 8)}…</Link>
              </>,
            ]
          : null,
      ]}
    />
  );
}

function EventJobs({ event }: { event: EventDetails }) {
  return (
    <section aria-labelledby="event-jobs">
      <h2 id="event-jobs">Jobs it started</h2>
      {event.jobs.length === 0 ? (
        <p>None: no route matched it.</p>
      ) : (
        <table>
          <caption>
            {event.jobs.length} job{event.jobs.length === 1 ? '' : 's'}, replays included
          </caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Attempt</th>
              <th scope="col">Created</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {event.jobs.map((job) => (
              <tr key={job.id}>
                <th scope="row">
                  <Link to={`/jobs/${job.id}`}>{job.id.slice(0, 8)}…</Link>
                </th>
                <td>{job.type}</td>
                <td>
                  <StatusBadge>{job.status}</StatusBadge>
                </td>
                <td>{job.attempt}</td>
                <td>{formatTime(job.createdAt)}</td>
                <td>{formatTime(job.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
