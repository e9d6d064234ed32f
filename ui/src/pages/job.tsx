import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, roleAtLeast, unwrap } from '../api/client';
import type { JobDetails, JobStatus } from '../api/client';
import { ErrorMessage } from '../errors';
import { formatJson, formatTime } from '../format';
import { useTitle } from '../layout';
import { useSession } from '../session';
import { StatusBadge, Summary } from '../summary';

const RETRYABLE: JobStatus[] = ['dead', 'failed', 'cancelled'];
const CANCELLABLE: JobStatus[] = ['queued', 'running', 'failed'];
const FINISHED: JobStatus[] = ['succeeded', 'dead', 'cancelled'];

export function JobPage() {
  const { id = '' } = useParams();
  useTitle(`Job ${id.slice(0, 8)}`);
  const client = useQueryClient();
  const session = useSession();
  const job = useQuery({
    queryKey: ['job', id],
    queryFn: async () => unwrap(await api.GET('/jobs/{id}', { params: { path: { id } } })),
    // An unfinished job is followed until it ends.
    refetchInterval: (query) =>
      query.state.data && FINISHED.includes(query.state.data.status) ? false : 1000,
  });
  const onChanged = () => {
    void client.invalidateQueries({ queryKey: ['job', id] });
    void client.invalidateQueries({ queryKey: ['jobs'] });
    void client.invalidateQueries({ queryKey: ['queues'] });
  };
  const retry = useMutation({
    mutationFn: async () => unwrap(await api.POST('/jobs/{id}/retry', { params: { path: { id } } })),
    onSuccess: onChanged,
  });
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST('/jobs/{id}/cancel', { params: { path: { id } } })),
    onSuccess: onChanged,
  });
  // Buttons only for a role whose API allows the action; the API checks again anyway.
  const mayAct = session.data ? roleAtLeast(session.data.role, 'operator') : false;

  return (
    <>
      <p>
        <Link to="/jobs">← All jobs</Link>
      </p>
      <h1>Job {id}</h1>
      <ErrorMessage error={job.error} />
      {job.data && (
        <>
          <JobSummary job={job.data} />
          {mayAct && (
            <div className="actions">
              {RETRYABLE.includes(job.data.status) && (
                <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
                  Retry
                </button>
              )}
              {CANCELLABLE.includes(job.data.status) && (
                <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
                  Cancel
                </button>
              )}
            </div>
          )}
          <ErrorMessage error={retry.error ?? cancel.error} />
          <JobHistory job={job.data} />
        </>
      )}
    </>
  );
}

function JobSummary({ job }: { job: JobDetails }) {
  return (
    <Summary
      items={[
        ['Status', <StatusBadge testId="job-status">{job.status}</StatusBadge>],
        ['Type', job.type],
        ['Queue', job.queue],
        [
          'Attempt',
          <>
            {job.attempt} of {job.maxAttempts}
          </>,
        ],
        ['Created', formatTime(job.createdAt)],
        ['Finished', formatTime(job.finishedAt)],
        job.lastError ? ['Last error', job.lastError.message] : null,
      ]}
    />
  );
}

function JobHistory({ job }: { job: JobDetails }) {
  return (
    <>
      <section aria-labelledby="attempts">
        <h2 id="attempts">Attempts</h2>
        {job.attempts.length === 0 ? (
          <p>Not run yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Attempt</th>
                <th scope="col">Outcome</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {job.attempts.map((attempt) => (
                <tr key={attempt.attempt}>
                  <th scope="row">{attempt.attempt}</th>
                  <td>{attempt.outcome}</td>
                  <td>{formatTime(attempt.startedAt)}</td>
                  <td>{formatTime(attempt.finishedAt)}</td>
                  <td>{attempt.errorMessage ? `${attempt.errorCode ?? ''} ${attempt.errorMessage}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="steps">
        <h2 id="steps">Steps</h2>
        {job.steps.length === 0 ? (
          <p>No steps.</p>
        ) : (
          <ol>
            {job.steps.map((step) => (
              <li key={step.name}>
                {step.name}, attempt {step.attempt}, {formatTime(step.completedAt)}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="log">
        <h2 id="log">Log</h2>
        {job.logs.length === 0 ? (
          <p>No log lines.</p>
        ) : (
          <ol className="log">
            {job.logs.map((line, index) => (
              <li key={index}>
                <time dateTime={line.at}>{formatTime(line.at)}</time> [{line.attempt}] {line.message}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="payload-result">
        <h2 id="payload-result">Payload and result</h2>
        <h3>Payload</h3>
        <pre tabIndex={0}>{formatJson(job.payload)}</pre>
        <h3>Result</h3>
        <pre tabIndex={0}>{formatJson(job.result)}</pre>
      </section>
    </>
  );
}
