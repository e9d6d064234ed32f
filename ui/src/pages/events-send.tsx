import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { Field, FieldsError, messagesFor, parseJsonField, unwrapFields } from '../fields';

const EVENT_FIELDS = ['name', 'source', 'data', 'idempotencyKey', 'occurredAt'];
const CODE_FIELDS = { INVALID_EVENT_NAME: 'name', CAUSATION_TOO_DEEP: 'name' };
/** Errors about the data whose details point inside it (schema violations), or none. */
const DATA_CODES = ['SCHEMA_MISMATCH', 'EVENT_TOO_LARGE'];

/** Posts an event as any sender would (`POST /events`), to try routes from the dashboard. */
export function SendEventForm() {
  const client = useQueryClient();
  const [draft, setDraft] = useState({ name: '', source: 'dashboard', data: '{}' });
  const send = useMutation({
    mutationFn: async (value: typeof draft) => {
      const data = parseJsonField('data', value.data);
      return unwrapFields(
        await api.POST('/events', {
          body: {
            name: value.name.trim(),
            source: value.source.trim(),
            ...(data === undefined ? {} : { data: data as Schemas['CreateEventDto']['data'] }),
          },
        }),
        EVENT_FIELDS,
        CODE_FIELDS,
      );
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: ['events'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send.mutate(draft);
  };
  const error = send.error;
  const dataMessages =
    error instanceof FieldsError && DATA_CODES.includes(error.code)
      ? error.details.length > 0
        ? error.details
        : [error.message]
      : messagesFor(error, 'data');

  return (
    <section aria-labelledby="send-event">
      <h2 id="send-event">Send a test event</h2>
      <p className="hint">
        Stored and routed like any other event (<code>POST /events</code>): matching routes start their jobs.
      </p>
      <form onSubmit={submit} aria-label="Send a test event" noValidate>
        <Field
          id="event-name"
          label="Event name"
          hint="Such as order.created"
          messages={messagesFor(error, 'name')}
        >
          {(props) => (
            <input
              {...props}
              value={draft.name}
              onChange={(event) => setDraft({ ...draft, name: event.target.value })}
              required
            />
          )}
        </Field>
        <Field id="event-source" label="Source" messages={messagesFor(error, 'source')}>
          {(props) => (
            <input
              {...props}
              value={draft.source}
              onChange={(event) => setDraft({ ...draft, source: event.target.value })}
              required
            />
          )}
        </Field>
        <Field id="event-data" label="Data (JSON)" messages={dataMessages}>
          {(props) => (
            <textarea
              {...props}
              rows={6}
              cols={60}
              value={draft.data}
              onChange={(event) => setDraft({ ...draft, data: event.target.value })}
            />
          )}
        </Field>
        <ErrorMessage error={error} />
        <div className="actions">
          <button type="submit" disabled={send.isPending}>
            Send event
          </button>
        </div>
      </form>
      {send.data && (
        <p role="status">
          {send.data.duplicate ? 'Already received: ' : 'Sent: '}
          <Link to={`/events/${send.data.eventId}`}>event {send.data.eventId.slice(0, 8)}…</Link>,{' '}
          {send.data.jobIds.length === 1 ? '1 job' : `${send.data.jobIds.length} jobs`} started.
        </p>
      )}
    </section>
  );
}
