import type Form from '@rjsf/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api } from '../api/client';
import { ErrorMessage } from '../errors';
import { unwrapFields } from '../fields';
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
import type { CredentialsDraft, Provider } from './connections-forms';

/** A new connection: provider, name, the config form generated from its schema, then credentials. */
export function NewConnectionPage() {
  useTitle('New connection');
  const providers = useProviders();
  const [params, setParams] = useSearchParams();
  const key = params.get('provider') ?? '';
  const provider = providers.data?.find((p) => p.key === key);

  return (
    <>
      <p>
        <Link to="/connections">← All connections</Link>
      </p>
      <h1>New connection</h1>
      <ErrorMessage error={providers.error} />
      {providers.data && (
        <>
          <label htmlFor="provider">Provider</label>
          <select
            id="provider"
            value={key}
            onChange={(event) => setParams(event.target.value ? { provider: event.target.value } : {})}
          >
            <option value="">Choose a provider…</option>
            {providers.data.map((p) => (
              <option key={p.key} value={p.key}>
                {p.title} ({p.key})
              </option>
            ))}
          </select>
          {/* Keyed by provider: another provider starts from an empty form. */}
          {provider && <NewConnectionForm key={provider.key} provider={provider} />}
        </>
      )}
    </>
  );
}

function NewConnectionForm({ provider }: { provider: Provider }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const configRef = useRef<Form>(null);
  const [name, setName] = useState('');
  const [config, setConfig] = useState<Record<string, unknown>>({});
  const fieldTypes = provider.credentialTypes.filter((type) => type !== 'oauth2');
  const oauth = provider.credentialTypes.includes('oauth2');
  const [credentials, setCredentials] = useState<CredentialsDraft>({
    type: fieldTypes[0] ?? 'oauth2',
    fields: {},
  });

  const create = useMutation({
    mutationFn: async () =>
      unwrapFields(
        await api.POST('/connections', {
          body: {
            provider: provider.key,
            name,
            config: pruned(config),
            credentials: credentialsBody(credentials),
          },
        }),
        CONNECTION_FIELDS,
      ),
    onSuccess: (created) => {
      void client.invalidateQueries({ queryKey: ['connections'] });
      // A webhook secret is shown this once: the detail page gets it, not the URL or any storage.
      void navigate(`/connections/${created.id}`, { state: { webhookSecret: created.webhookSecret } });
    },
  });
  const connect = useMutation({
    mutationFn: () => connectWithOAuth({ provider: provider.key, name, config: pruned(config) }),
  });
  const error = create.error ?? connect.error;

  // The form is not left to the browser's checks (noValidate): rjsf marks the required fields of
  // optional objects too, which would stop it; the config form and the API check instead.
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (configRef.current && !configRef.current.validateForm()) return;
    create.mutate();
  };
  const nameErrors = problemsAt(error, '/name').map((p) => p.message);

  return (
    <form
      onSubmit={submit}
      aria-label={`New ${provider.title} connection`}
      className="connection-form"
      noValidate
    >
      <label htmlFor="connection-name">Name</label>
      <input
        id="connection-name"
        value={name}
        required
        maxLength={200}
        onChange={(event) => setName(event.target.value)}
        aria-invalid={nameErrors.length > 0 || undefined}
        aria-describedby={nameErrors.length > 0 ? 'connection-name-error' : undefined}
      />
      <FieldErrors id="connection-name-error" messages={nameErrors} />
      <ConfigForm
        provider={provider}
        value={config}
        onChange={setConfig}
        problems={problemsAt(error, '/config')}
        formRef={configRef}
      />
      {fieldTypes.length > 0 && (
        <CredentialFields
          types={provider.credentialTypes}
          draft={credentials}
          onChange={setCredentials}
          problems={problemsAt(error, '/credentials')}
          idPrefix="credentials"
        />
      )}
      <ErrorMessage error={error} />
      <div className="actions">
        {credentials.type !== 'oauth2' && (
          <button type="submit" disabled={create.isPending}>
            Create connection
          </button>
        )}
        {oauth && (
          <button
            type="button"
            disabled={connect.isPending || name.trim() === ''}
            onClick={() => {
              if (configRef.current && !configRef.current.validateForm()) return;
              connect.mutate();
            }}
          >
            Connect with OAuth
          </button>
        )}
      </div>
    </form>
  );
}
