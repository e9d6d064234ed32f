import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { Schemas } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatJson, formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { Field, jsonText, messagesFor, parseJsonField, unwrapFields } from '../fields';
import { Summary } from '../summary';

type Route = Schemas['RouteDto'];
type RouteBody = Schemas['CreateRouteDto'];
// The generated type makes `enabled` required, for its default; a PATCH leaves out what did not change.
type RouteChanges = Schemas['UpdateRouteDto'];

/** The fields the routes API names in its errors. */
const ROUTE_FIELDS = [
  'name',
  'eventPattern',
  'filter',
  'jobType',
  'payloadTemplate',
  'jobOptions',
  'enabled',
];
const CODE_FIELDS = { ROUTE_NAME_TAKEN: 'name' };

interface Draft {
  name: string;
  eventPattern: string;
  filter: string;
  jobType: string;
  payloadTemplate: string;
  priority: string;
  delayMs: string;
  maxAttempts: string;
  concurrencyKey: string;
  enabled: boolean;
}

function draftOf(route: Route | null): Draft {
  const options = route?.jobOptions ?? {};
  return {
    name: route?.name ?? '',
    eventPattern: route?.eventPattern ?? '',
    filter: jsonText(route?.filter),
    jobType: route?.jobType ?? '',
    payloadTemplate: jsonText(route?.payloadTemplate),
    priority: options.priority?.toString() ?? '',
    delayMs: options.delayMs?.toString() ?? '',
    maxAttempts: options.maxAttempts?.toString() ?? '',
    concurrencyKey: options.concurrencyKey ?? '',
    enabled: route?.enabled ?? true,
  };
}

/** What the API takes; JSON fields that do not parse are refused here, at their field. */
function bodyOf(draft: Draft): RouteBody {
  const filter = parseJsonField('filter', draft.filter);
  const payloadTemplate = parseJsonField('payloadTemplate', draft.payloadTemplate);
  const number = (text: string) => (text.trim() ? Number(text) : undefined);
  const jobOptions = {
    priority: number(draft.priority),
    delayMs: number(draft.delayMs),
    maxAttempts: number(draft.maxAttempts),
    concurrencyKey: draft.concurrencyKey.trim() || undefined,
  };
  return {
    name: draft.name.trim(),
    eventPattern: draft.eventPattern.trim(),
    filter: (filter ?? null) as RouteBody['filter'],
    jobType: draft.jobType.trim(),
    payloadTemplate: (payloadTemplate ?? null) as RouteBody['payloadTemplate'],
    jobOptions: JSON.parse(JSON.stringify(jobOptions)) as RouteBody['jobOptions'],
    enabled: draft.enabled,
  };
}

/** Only what changed goes in a PATCH, so an untouched field is not checked again. */
function changesOf(route: Route, body: RouteBody): RouteChanges {
  const current: RouteBody = {
    name: route.name,
    eventPattern: route.eventPattern,
    filter: route.filter,
    jobType: route.jobType,
    payloadTemplate: (route.payloadTemplate ?? null) as RouteBody['payloadTemplate'],
    jobOptions: route.jobOptions,
    enabled: route.enabled,
  };
  return Object.fromEntries(
    Object.entries(body).filter(
      ([key, value]) => JSON.stringify(value) !== JSON.stringify(current[key as keyof RouteBody]),
    ),
  ) as RouteChanges;
}

/** `/routes/new` and `/routes/:id`: a route's fields, editable by admins for routes made through the API. */
export function RoutePage() {
  const { id } = useParams();
  const isNew = id === undefined;
  useTitle(isNew ? 'New route' : 'Route');
  const session = useSession();
  const location = useLocation();
  const route = useQuery({
    queryKey: ['route', id],
    queryFn: async () => unwrap(await api.GET('/routes/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: !isNew,
  });
  const isAdmin = session.data ? roleAtLeast(session.data.role, 'admin') : false;
  const saved = (location.state as { saved?: string } | null)?.saved;

  return (
    <>
      <p>
        <Link to="/routes">← All routes</Link>
      </p>
      <h1>{isNew ? 'New route' : `Route ${route.data?.name ?? ''}`}</h1>
      <ErrorMessage error={route.error} />
      {saved && <p role="status">Route {saved}.</p>}
      {isNew && isAdmin && <RouteForm route={null} />}
      {isNew && !isAdmin && <p>Only admins add routes.</p>}
      {route.data &&
        (isAdmin && route.data.origin === 'api' ? (
          <RouteForm key={route.data.updatedAt ?? route.data.id} route={route.data} />
        ) : (
          <RouteSummary route={route.data} />
        ))}
    </>
  );
}

function RouteForm({ route }: { route: Route | null }) {
  const [draft, setDraft] = useState(() => draftOf(route));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const client = useQueryClient();
  const navigate = useNavigate();
  const save = useMutation({
    mutationFn: async (value: Draft) => {
      const body = bodyOf(value);
      if (!route) return unwrapFields(await api.POST('/routes', { body }), ROUTE_FIELDS, CODE_FIELDS);
      return unwrapFields(
        await api.PATCH('/routes/{id}', { params: { path: { id: route.id } }, body: changesOf(route, body) }),
        ROUTE_FIELDS,
        CODE_FIELDS,
      );
    },
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ['routes'] });
      client.setQueryData(['route', saved.id], saved);
      void navigate(`/routes/${encodeURIComponent(saved.id)}`, {
        state: { saved: route ? 'saved' : 'created' },
        replace: route !== null,
      });
    },
  });
  const remove = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE('/routes/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['routes'] });
      void navigate('/routes');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(draft);
  };
  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: event.target.value });
  const at = (field: string) => messagesFor(save.error, field);

  return (
    <>
      <form onSubmit={submit} aria-label={route ? 'Edit route' : 'New route'} noValidate>
        <Field id="route-name" label="Name" messages={at('name')}>
          {(props) => <input {...props} value={draft.name} onChange={set('name')} required />}
        </Field>
        <Field
          id="route-pattern"
          label="Event pattern"
          hint="Dot-separated names; * matches one segment, ** one or more (order.**)"
          messages={at('eventPattern')}
        >
          {(props) => <input {...props} value={draft.eventPattern} onChange={set('eventPattern')} required />}
        </Field>
        <Field
          id="route-filter"
          label="Filter"
          hint='A MongoDB-style query on the event as JSON, such as {"data.total": {"$gt": 100}}; empty matches every event'
          messages={at('filter')}
        >
          {(props) => (
            <textarea {...props} rows={4} cols={60} value={draft.filter} onChange={set('filter')} />
          )}
        </Field>
        <Field id="route-job-type" label="Job type" messages={at('jobType')}>
          {(props) => <input {...props} value={draft.jobType} onChange={set('jobType')} required />}
        </Field>
        <Field
          id="route-template"
          label="Payload template"
          hint="The job's payload as JSON with {{path}} placeholders on the event ({{data.orderId}}); empty passes the whole event"
          messages={at('payloadTemplate')}
        >
          {(props) => (
            <textarea
              {...props}
              rows={5}
              cols={60}
              value={draft.payloadTemplate}
              onChange={set('payloadTemplate')}
            />
          )}
        </Field>
        <fieldset>
          <legend>Job options</legend>
          <Field id="route-priority" label="Priority" messages={at('jobOptions.priority')}>
            {(props) => <input {...props} type="number" value={draft.priority} onChange={set('priority')} />}
          </Field>
          <Field id="route-delay" label="Delay (ms)" messages={at('jobOptions.delayMs')}>
            {(props) => (
              <input {...props} type="number" min={0} value={draft.delayMs} onChange={set('delayMs')} />
            )}
          </Field>
          <Field id="route-attempts" label="Max attempts" messages={at('jobOptions.maxAttempts')}>
            {(props) => (
              <input
                {...props}
                type="number"
                min={1}
                value={draft.maxAttempts}
                onChange={set('maxAttempts')}
              />
            )}
          </Field>
          <Field
            id="route-concurrency"
            label="Concurrency key"
            hint="A template: jobs with the same rendered key take turns"
            messages={at('jobOptions.concurrencyKey')}
          >
            {(props) => <input {...props} value={draft.concurrencyKey} onChange={set('concurrencyKey')} />}
          </Field>
        </fieldset>
        <p>
          <label>
            <input
              type="checkbox"
              checked={draft.enabled}
              onChange={(event) => setDraft({ ...draft, enabled: event.target.checked })}
            />{' '}
            Enabled
          </label>
        </p>
        <ErrorMessage error={save.error} />
        <div className="actions">
          <button type="submit" disabled={save.isPending}>
            {route ? 'Save route' : 'Create route'}
          </button>
          {route && !confirmDelete && (
            <button type="button" onClick={() => setConfirmDelete(true)}>
              Delete route
            </button>
          )}
        </div>
      </form>
      {route && confirmDelete && (
        <div className="actions" role="group" aria-label="Confirm deletion">
          <span>Delete the route {route.name}? Events stop starting its jobs.</span>
          <button type="button" onClick={() => remove.mutate(route.id)} disabled={remove.isPending}>
            Delete for good
          </button>
          <button type="button" onClick={() => setConfirmDelete(false)}>
            Keep it
          </button>
        </div>
      )}
      <ErrorMessage error={remove.error} />
    </>
  );
}

/** What a viewer, an operator, or anyone on a code route sees: the route, read-only. */
function RouteSummary({ route }: { route: Route }) {
  return (
    <>
      {route.origin === 'code' && <p>Declared in code (@JobHandler on): it cannot be changed here.</p>}
      <Summary
        items={[
          [
            'Event pattern',
            <>
              <code>{route.eventPattern}</code>
            </>,
          ],
          ['Job type', route.jobType],
          ['Enabled', route.enabled ? 'yes' : 'no'],
          ['Updated', formatTime(route.updatedAt)],
        ]}
      />
      <h2>Filter</h2>
      <pre tabIndex={0}>{route.filter ? formatJson(route.filter) : 'none: every event of the pattern'}</pre>
      <h2>Payload template</h2>
      <pre tabIndex={0}>
        {route.payloadTemplate === null ? 'none: the whole event' : formatJson(route.payloadTemplate)}
      </pre>
      <h2>Job options</h2>
      <pre tabIndex={0}>{formatJson(route.jobOptions)}</pre>
    </>
  );
}
