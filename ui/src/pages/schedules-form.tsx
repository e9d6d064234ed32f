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

type Schedule = Schemas['ScheduleDto'];
type ScheduleBody = Schemas['CreateScheduleDto'];

const SCHEDULE_FIELDS = ['name', 'cron', 'timezone', 'jobType', 'payload', 'enabled', 'overlap', 'catchUp'];
const CODE_FIELDS = { UNKNOWN_JOB_TYPE: 'jobType', SCHEDULE_NAME_TAKEN: 'name' };

interface Draft {
  name: string;
  cron: string;
  timezone: string;
  jobType: string;
  payload: string;
  overlap: Schedule['overlap'];
  catchUp: Schedule['catchUp'];
}

function draftOf(schedule: Schedule | null): Draft {
  return {
    name: schedule?.name ?? '',
    cron: schedule?.cron ?? '',
    timezone: schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    jobType: schedule?.jobType ?? '',
    payload: jsonText(schedule?.payload),
    overlap: schedule?.overlap ?? 'skip',
    catchUp: schedule?.catchUp ?? 'skip',
  };
}

function bodyOf(draft: Draft): ScheduleBody {
  const payload = parseJsonField('payload', draft.payload);
  return {
    name: draft.name.trim(),
    cron: draft.cron.trim(),
    timezone: draft.timezone.trim(),
    jobType: draft.jobType.trim(),
    payload: (payload ?? {}) as ScheduleBody['payload'],
    overlap: draft.overlap,
    catchUp: draft.catchUp,
  } as ScheduleBody;
}

/** Only what changed goes in a PATCH: a built-in schedule's fixed fields must not be sent. */
function changesOf(schedule: Schedule, body: ScheduleBody): Partial<ScheduleBody> {
  return Object.fromEntries(
    Object.entries(body).filter(
      ([key, value]) => JSON.stringify(value) !== JSON.stringify(schedule[key as keyof Schedule]),
    ),
  );
}

/** `/schedules/new` and `/schedules/:id`: its firings, pause, resume, trigger, and its fields. */
export function SchedulePage() {
  const { id } = useParams();
  const isNew = id === undefined;
  useTitle(isNew ? 'New schedule' : 'Schedule');
  const session = useSession();
  const location = useLocation();
  const schedule = useQuery({
    queryKey: ['schedule', id],
    queryFn: async () => unwrap(await api.GET('/schedules/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: !isNew,
  });
  const role = session.data?.role;
  const isAdmin = role ? roleAtLeast(role, 'admin') : false;
  const saved = (location.state as { saved?: string } | null)?.saved;

  return (
    <>
      <p>
        <Link to="/schedules">← All schedules</Link>
      </p>
      <h1>{isNew ? 'New schedule' : `Schedule ${schedule.data?.name ?? ''}`}</h1>
      <ErrorMessage error={schedule.error} />
      {saved && <p role="status">Schedule {saved}.</p>}
      {isNew && (isAdmin ? <ScheduleForm schedule={null} /> : <p>Only admins add schedules.</p>)}
      {schedule.data && (
        <>
          <ScheduleSummary schedule={schedule.data} />
          {role && roleAtLeast(role, 'operator') && <ScheduleActions schedule={schedule.data} />}
          <h2>Payload</h2>
          <pre tabIndex={0}>{formatJson(schedule.data.payload)}</pre>
          {isAdmin && (
            <section aria-labelledby="edit-schedule">
              <h2 id="edit-schedule">Edit</h2>
              <ScheduleForm key={schedule.data.updatedAt} schedule={schedule.data} />
            </section>
          )}
        </>
      )}
    </>
  );
}

function ScheduleSummary({ schedule }: { schedule: Schedule }) {
  return (
    <dl className="summary">
      <div>
        <dt>State</dt>
        <dd data-testid="schedule-state">{schedule.enabled ? 'active' : 'paused'}</dd>
      </div>
      <div>
        <dt>Cron</dt>
        <dd>
          <code>{schedule.cron}</code> in {schedule.timezone}
        </dd>
      </div>
      <div>
        <dt>Job type</dt>
        <dd>{schedule.jobType}</dd>
      </div>
      <div>
        <dt>Next firing</dt>
        <dd>{schedule.nextFireAt ? formatTime(schedule.nextFireAt) : 'none while paused'}</dd>
      </div>
      <div>
        <dt>Last firing</dt>
        <dd>
          {formatTime(schedule.lastFiredAt)}
          {schedule.lastJobId && (
            <>
              {' '}
              (<Link to={`/jobs/${schedule.lastJobId}`}>its job</Link>)
            </>
          )}
        </dd>
      </div>
      <div>
        <dt>Overlap, catch-up</dt>
        <dd>
          {schedule.overlap}, {schedule.catchUp}
        </dd>
      </div>
      {schedule.builtIn && (
        <div>
          <dt>Built in</dt>
          <dd>its name, job type and timing are fixed</dd>
        </div>
      )}
    </dl>
  );
}

/** Pause, resume and trigger: for operators and admins, as the API allows. */
function ScheduleActions({ schedule }: { schedule: Schedule }) {
  const client = useQueryClient();
  const path = { params: { path: { id: schedule.id } } };
  const onChanged = (updated: Schedule) => {
    client.setQueryData(['schedule', schedule.id], updated);
    void client.invalidateQueries({ queryKey: ['schedules'] });
  };
  const pause = useMutation({
    mutationFn: async () => unwrap(await api.POST('/schedules/{id}/pause', path)),
    onSuccess: onChanged,
  });
  const resume = useMutation({
    mutationFn: async () => unwrap(await api.POST('/schedules/{id}/resume', path)),
    onSuccess: onChanged,
  });
  const trigger = useMutation({
    mutationFn: async () => unwrap(await api.POST('/schedules/{id}/trigger', path)),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['schedule', schedule.id] }),
  });
  return (
    <>
      <div className="actions">
        {schedule.enabled ? (
          <button type="button" onClick={() => pause.mutate()} disabled={pause.isPending}>
            Pause
          </button>
        ) : (
          <button type="button" onClick={() => resume.mutate()} disabled={resume.isPending}>
            Resume
          </button>
        )}
        <button type="button" onClick={() => trigger.mutate()} disabled={trigger.isPending}>
          Trigger now
        </button>
      </div>
      {trigger.data && (
        <p role="status">
          Triggered: <Link to={`/jobs/${trigger.data.jobId}`}>job {trigger.data.jobId.slice(0, 8)}…</Link>{' '}
          queued.
        </p>
      )}
      <ErrorMessage error={pause.error ?? resume.error ?? trigger.error} />
    </>
  );
}

function ScheduleForm({ schedule }: { schedule: Schedule | null }) {
  const [draft, setDraft] = useState(() => draftOf(schedule));
  const [enabled, setEnabled] = useState(true);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const client = useQueryClient();
  const navigate = useNavigate();
  const save = useMutation({
    mutationFn: async (value: Draft) => {
      const body = bodyOf(value);
      if (!schedule)
        return unwrapFields(
          await api.POST('/schedules', { body: { ...body, enabled } }),
          SCHEDULE_FIELDS,
          CODE_FIELDS,
        );
      return unwrapFields(
        await api.PATCH('/schedules/{id}', {
          params: { path: { id: schedule.id } },
          body: changesOf(schedule, body),
        }),
        SCHEDULE_FIELDS,
        CODE_FIELDS,
      );
    },
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ['schedules'] });
      client.setQueryData(['schedule', saved.id], saved);
      void navigate(`/schedules/${saved.id}`, {
        state: { saved: schedule ? 'saved' : 'created' },
        replace: schedule !== null,
      });
    },
  });
  const remove = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE('/schedules/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['schedules'] });
      void navigate('/schedules');
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
      <form onSubmit={submit} aria-label={schedule ? 'Edit schedule' : 'New schedule'} noValidate>
        <Field id="schedule-name" label="Name" messages={at('name')}>
          {(props) => <input {...props} value={draft.name} onChange={set('name')} required />}
        </Field>
        <Field
          id="schedule-cron"
          label="Cron"
          hint="5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or @every 10m"
          messages={at('cron')}
        >
          {(props) => <input {...props} value={draft.cron} onChange={set('cron')} required />}
        </Field>
        <Field
          id="schedule-timezone"
          label="Time zone"
          hint="IANA, such as Europe/Berlin"
          messages={at('timezone')}
        >
          {(props) => <input {...props} value={draft.timezone} onChange={set('timezone')} required />}
        </Field>
        <Field id="schedule-job-type" label="Job type" messages={at('jobType')}>
          {(props) => <input {...props} value={draft.jobType} onChange={set('jobType')} required />}
        </Field>
        <Field id="schedule-payload" label="Payload" hint="JSON; empty is {}" messages={at('payload')}>
          {(props) => (
            <textarea {...props} rows={4} cols={60} value={draft.payload} onChange={set('payload')} />
          )}
        </Field>
        <Field id="schedule-overlap" label="Overlap" messages={at('overlap')}>
          {(props) => (
            <select {...props} value={draft.overlap} onChange={set('overlap')}>
              <option value="skip">skip: not while the previous firing&apos;s job runs</option>
              <option value="allow">allow: fire regardless</option>
            </select>
          )}
        </Field>
        <Field id="schedule-catch-up" label="Catch-up" messages={at('catchUp')}>
          {(props) => (
            <select {...props} value={draft.catchUp} onChange={set('catchUp')}>
              <option value="skip">skip missed firings</option>
              <option value="once">fire once for the latest missed</option>
            </select>
          )}
        </Field>
        {!schedule && (
          <p>
            <label>
              <input
                type="checkbox"
                checked={enabled}
                onChange={(event) => setEnabled(event.target.checked)}
              />{' '}
              Active from now (otherwise created paused)
            </label>
          </p>
        )}
        <ErrorMessage error={save.error} />
        <div className="actions">
          <button type="submit" disabled={save.isPending}>
            {schedule ? 'Save schedule' : 'Create schedule'}
          </button>
          {schedule && !schedule.builtIn && !confirmDelete && (
            <button type="button" onClick={() => setConfirmDelete(true)}>
              Delete schedule
            </button>
          )}
        </div>
      </form>
      {schedule && confirmDelete && (
        <div className="actions" role="group" aria-label="Confirm deletion">
          <span>Delete the schedule {schedule.name}? The jobs it enqueued stay.</span>
          <button type="button" onClick={() => remove.mutate(schedule.id)} disabled={remove.isPending}>
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
