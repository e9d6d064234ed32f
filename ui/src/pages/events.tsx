import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { SendEventForm } from './events-send';

const PAGE_SIZE = 50;
const FILTERS = ['name', 'source', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** A `datetime-local` value (the browser's zone) as the API's ISO 8601, or nothing. */
function isoOf(local: string): string | undefined {
  const time = local ? new Date(local) : null;
  return time && !Number.isNaN(time.getTime()) ? time.toISOString() : undefined;
}

/** Stored events, filtered by name or pattern, source and time received; the filters live in the URL. */
export function EventsPage() {
  useTitle('Events');
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) ?? ''])) as Filters;
  const cursor = params.get('cursor') ?? undefined;
  const [draft, setDraft] = useState(filters);

  const events = useQuery({
    queryKey: ['events', { ...filters, cursor }],
    queryFn: async () => {
      const from = isoOf(filters.from);
      const to = isoOf(filters.to);
      return unwrap(
        await api.GET('/events', {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(filters.name ? { name: filters.name } : {}),
              ...(filters.source ? { source: filters.source } : {}),
              ...(from ? { from } : {}),
              ...(to ? { to } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      );
    },
    refetchInterval: 5000,
  });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of Object.entries(draft)) if (value.trim()) next.set(key, value.trim());
    setParams(next);
  };
  const nextPage = () => {
    if (!events.data?.nextCursor) return;
    const next = new URLSearchParams(params);
    next.set('cursor', events.data.nextCursor);
    setParams(next);
  };
  const field = (key: keyof Filters) => ({
    defaultValue: filters[key],
    onChange: (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value }),
  });
  const mayPost = session.data ? roleAtLeast(session.data.role, 'operator') : false;

  return (
    <>
      <h1>Events</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter events" key={JSON.stringify(filters)}>
        <label>
          Name or pattern
          <input {...field('name')} placeholder="order.*" />
        </label>
        <label>
          Source
          <input {...field('source')} />
        </label>
        <label>
          Received from
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          Received before
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={events.error} />
      {events.isPending && <p>Loading…</p>}
      {events.data && events.data.items.length === 0 && <p>No event matches.</p>}
      {events.data && events.data.items.length > 0 && (
        <table>
          <caption>
            {events.data.items.length} event{events.data.items.length === 1 ? '' : 's'}, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Name</th>
              <th scope="col">Source</th>
              <th scope="col">Received</th>
              <th scope="col">Idempotency key</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((item) => (
              <tr key={item.id}>
                <th scope="row">
                  <Link to={`/events/${item.id}`}>{item.id.slice(0, 8)}…</Link>
                </th>
                <td>{item.name}</td>
                <td>{item.source}</td>
                <td>{formatTime(item.receivedAt)}</td>
                <td>{item.idempotencyKey ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events.data?.nextCursor && (
        <button type="button" onClick={nextPage}>
          Later events
        </button>
      )}
      {mayPost && <SendEventForm />}
    </>
  );
}
