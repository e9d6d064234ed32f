import type Form from '@rjsf/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorMessage } from '../errors';
import { unwrapFields } from '../fields';
import { formatTime } from '../format';
import { useTitle } from '../layout';
import {
  ConfigForm,
  connectWithOAuth,
  CredentialFields,
  credentialsBody,
  FieldErrors,
  problemsAt,
  pruned,
  CONNECTION_FIELDS,
  useProviders,
} from './connections-forms';
import type { Connection, CredentialsDraft, CredentialType, Provider } from './connections-forms';
import { StatusBadge, Summary } from '../summary';

/**
 * One connection: what it is (never its credentials, which the API does not give back), test,
 * pause and resume, delete, and forms to edit its name and config and to replace its credentials.
 * The API lets every account manage its own connections, so whoever sees it may act on it.
 */
export function ConnectionPage() {
  const { id = '' } = useParams();
  const location = useLocation();
  const webhookSecret = (location.state as { webhookSecret?: string | null } | null)?.webhookSecret;
  const client = useQueryClient();
  const navigate = useNavigate();
  const providers = useProviders();
  const connection = useQuery({
    queryKey: ['connection', id],
    queryFn: async () => unwrap(await api.GET('/connections/{id}', { params: { path: { id } } })),
  });
  useTitle(connection.data ? `Connection ${connection.data.name}` : 'Connection');
  const provider = providers.data?.find((p) => p.key === connection.data?.provider);

  const onChanged = (changed?: Connection) => {
    if (changed) client.setQueryData(['connection', id], changed);
    void client.invalidateQueries({ queryKey: ['connections'] });
  };
  const path = { params: { path: { id } } };
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/connections/{id}/test', path)),
    onSettled: () => void client.invalidateQueries({ queryKey: ['connection', id] }),
  });
  const pause = useMutation({
    mutationFn: async () => unwrap(await api.POST('/connections/{id}/pause', path)),
    onSuccess: onChanged,
  });
  const resume = useMutation({
    mutationFn: async () => unwrap(await api.POST('/connections/{id}/resume', path)),
    onSuccess: onChanged,
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useMutation({
    mutationFn: async () => {
      unwrap(await api.DELETE('/connections/{id}', path));
    },
    onSuccess: () => {
      client.removeQueries({ queryKey: ['connection', id] });
      void client.invalidateQueries({ queryKey: ['connections'] });
      void navigate('/connections');
    },
  });
  const connect = useMutation({
    mutationFn: (c: Connection) =>
      connectWithOAuth({ provider: c.provider, name: c.name, config: c.config, accountId: c.accountId }),
  });

  return (
    <>
      <p>
        <Link to="/connections">← All connections</Link>
      </p>
      <h1>Connection {connection.data?.name ?? ''}</h1>
      <ErrorMessage error={connection.error} />
      {webhookSecret && (
        <div role="status" className="notice">
          <p>The partner signs its webhooks with this secret. It is shown this once: copy it now.</p>
          <pre tabIndex={0}>{webhookSecret}</pre>
        </div>
      )}
      {connection.data && (
        <>
          <ConnectionSummary connection={connection.data} />
          <div className="actions">
            <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
              {test.isPending ? 'Testing…' : 'Test'}
            </button>
            {connection.data.state === 'active' && (
              <button type="button" onClick={() => pause.mutate()} disabled={pause.isPending}>
                Pause
              </button>
            )}
            {connection.data.state === 'paused' && (
              <button type="button" onClick={() => resume.mutate()} disabled={resume.isPending}>
                Resume
              </button>
            )}
            {provider?.credentialTypes.includes('oauth2') && (
              <button
                type="button"
                onClick={() => connect.mutate(connection.data)}
                disabled={connect.isPending}
              >
                Connect with OAuth
              </button>
            )}
            {!confirmDelete && (
              <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            )}
          </div>
          {confirmDelete && (
            <div className="actions" role="group" aria-label="Confirm deletion">
              <span>Delete {connection.data.name} and its credentials?</span>
              <button
                type="button"
                className="danger"
                onClick={() => remove.mutate()}
                disabled={remove.isPending}
              >
                Delete for good
              </button>
              <button type="button" className="secondary" onClick={() => setConfirmDelete(false)}>
                Keep it
              </button>
            </div>
          )}
          {test.data && (
            <div role="status" className={test.data.ok ? 'notice' : 'error'}>
              <p>
                Test {test.data.ok ? 'passed' : 'failed'}
                {test.data.code ? ` (${test.data.code})` : ''}: {test.data.message}, in {test.data.durationMs}{' '}
                ms
              </p>
            </div>
          )}
          <ErrorMessage error={test.error ?? pause.error ?? resume.error ?? remove.error ?? connect.error} />
          <p>
            <Link to={`/syncs?account=${connection.data.accountId}`}>Its account’s syncs</Link>
          </p>
          {provider && (
            <>
              <EditConnection
                key={connection.data.updatedAt}
                connection={connection.data}
                provider={provider}
              />
              <ReplaceCredentials connection={connection.data} provider={provider} />
            </>
          )}
        </>
      )}
    </>
  );
}

function ConnectionSummary({ connection }: { connection: Connection }) {
  const { credentials } = connection;
  return (
    <Summary
      items={[
        ['State', <StatusBadge testId="connection-state">{connection.state}</StatusBadge>],
        ['Provider', connection.provider],
        [
          'Credentials',
          <>
            {credentials.type}, {credentials.set ? 'set' : 'none stored'}
            {credentials.hint ? ` (ending ${credentials.hint})` : ''}
          </>,
        ],
        ['Account', connection.accountId],
        ['Last used', formatTime(connection.lastUsedAt)],
        [
          'Syncs',
          <>
            {connection.syncsPausedAt ? `paused since ${formatTime(connection.syncsPausedAt)}` : 'not paused'}
          </>,
        ],
        connection.webhookUrl ? ['Webhook URL', connection.webhookUrl] : null,
        connection.lastError
          ? [
              'Last error',
              <>
                {connection.lastError.code}: {connection.lastError.message} (
                {formatTime(connection.lastError.at)})
              </>,
            ]
          : null,
      ]}
    />
  );
}

/** The name and config, edited with the form generated from the provider's schema (PATCH). */
function EditConnection({ connection, provider }: { connection: Connection; provider: Provider }) {
  const client = useQueryClient();
  const configRef = useRef<Form>(null);
  const [name, setName] = useState(connection.name);
  const [config, setConfig] = useState<Record<string, unknown>>(connection.config);
  const save = useMutation({
    mutationFn: async () =>
      unwrapFields(
        await api.PATCH('/connections/{id}', {
          params: { path: { id: connection.id } },
          body: { name, config: pruned(config) },
        }),
        CONNECTION_FIELDS,
      ),
    onSuccess: (saved) => {
      client.setQueryData(['connection', connection.id], saved);
      void client.invalidateQueries({ queryKey: ['connections'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (configRef.current && !configRef.current.validateForm()) return;
    save.mutate();
  };
  const nameErrors = problemsAt(save.error, '/name').map((p) => p.message);
  return (
    <section aria-labelledby="edit">
      <h2 id="edit">Name and config</h2>
      <form onSubmit={submit} aria-labelledby="edit" className="connection-form" noValidate>
        <label htmlFor="edit-name">Name</label>
        <input
          id="edit-name"
          value={name}
          required
          maxLength={200}
          onChange={(event) => setName(event.target.value)}
          aria-invalid={nameErrors.length > 0 || undefined}
          aria-describedby={nameErrors.length > 0 ? 'edit-name-error' : undefined}
        />
        <FieldErrors id="edit-name-error" messages={nameErrors} />
        <ConfigForm
          provider={provider}
          value={config}
          onChange={setConfig}
          problems={problemsAt(save.error, '/config')}
          formRef={configRef}
        />
        <ErrorMessage error={save.error} />
        {save.isSuccess && <p role="status">Saved.</p>}
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
      </form>
    </section>
  );
}

/** New credentials replace the old ones (PUT); the old ones are never shown. */
function ReplaceCredentials({ connection, provider }: { connection: Connection; provider: Provider }) {
  const client = useQueryClient();
  const types: CredentialType[] = provider.credentialTypes.filter((type) => type !== 'oauth2');
  const initial = (): CredentialsDraft => ({
    type: types.includes(connection.credentials.type) ? connection.credentials.type : (types[0] ?? 'none'),
    fields: {},
  });
  const [draft, setDraft] = useState<CredentialsDraft>(initial);
  const replace = useMutation({
    mutationFn: async () =>
      unwrapFields(
        await api.PUT('/connections/{id}/credentials', {
          params: { path: { id: connection.id } },
          body: { credentials: credentialsBody(draft) },
        }),
        CONNECTION_FIELDS,
      ),
    onSuccess: (saved) => {
      client.setQueryData(['connection', connection.id], saved);
      void client.invalidateQueries({ queryKey: ['connections'] });
      // The fields are emptied: what was typed is not kept in the page.
      setDraft(initial());
    },
  });
  if (types.length === 0) return null;
  return (
    <section aria-labelledby="replace-credentials">
      <h2 id="replace-credentials">Replace credentials</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          replace.mutate();
        }}
        aria-labelledby="replace-credentials"
      >
        <CredentialFields
          types={types}
          draft={draft}
          onChange={setDraft}
          problems={problemsAt(replace.error, '/credentials')}
          idPrefix="replace"
        />
        <ErrorMessage error={replace.error} />
        {replace.isSuccess && <p role="status">Credentials replaced.</p>}
        <button type="submit" disabled={replace.isPending}>
          Replace credentials
        </button>
      </form>
    </section>
  );
}
