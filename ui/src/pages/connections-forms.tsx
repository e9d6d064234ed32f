import Form from '@rjsf/core';
import type { ErrorSchema, IconButtonProps, RJSFSchema } from '@rjsf/utils';
import type { RefObject } from 'react';
import { api } from '../api/client';
import { FieldsError, unwrapFields } from '../fields';

import type { Provider } from './connections';
import { schemaValidator } from './connections-validator';

export type { Connection, Provider } from './connections';
export { useProviders } from './connections';
export type CredentialType = Provider['credentialTypes'][number];
/** One problem of a refused connection, as the API's 422 INVALID_CONNECTION details name it. */
export interface Problem {
  path: string;
  message: string;
}

/** The fields of a connection the API may name in a 422 INVALID_CONNECTION. */
export const CONNECTION_FIELDS = ['name', 'config', 'credentials'] as const;

/** The problems under `prefix` (`/config`) as JSON pointers below it (`/baseUrl`); [] for any other error. */
export function problemsAt(error: unknown, prefix: string): Problem[] {
  if (!(error instanceof FieldsError)) return [];
  const field = prefix.slice(1);
  return Object.entries(error.fields).flatMap(([path, messages]) =>
    path === field || path.startsWith(`${field}.`)
      ? messages.map((message) => ({ path: path.slice(field.length).replaceAll('.', '/'), message }))
      : [],
  );
}

/** rjsf's error tree from JSON-pointer paths (`/baseUrl`, `/rateLimit/perMs`): each at its field. */
function errorSchemaOf(problems: Problem[]): ErrorSchema | undefined {
  if (problems.length === 0) return undefined;
  const root: Record<string, unknown> = {};
  for (const { path, message } of problems) {
    let node = root;
    for (const part of path.split('/').filter(Boolean)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node.__errors = [...((node.__errors as string[] | undefined) ?? []), message];
  }
  return root as ErrorSchema;
}

/** Buttons with words instead of the Bootstrap glyphs rjsf's default theme expects. */
function textButton(text: string) {
  return function TextButton({
    icon: _icon,
    iconType: _iconType,
    uiSchema: _ui,
    registry: _r,
    ...props
  }: IconButtonProps) {
    return (
      <button type="button" {...props} className="secondary">
        {text}
      </button>
    );
  };
}
const BUTTONS = {
  AddButton: textButton('Add'),
  CopyButton: textButton('Copy'),
  MoveDownButton: textButton('Move down'),
  MoveUpButton: textButton('Move up'),
  RemoveButton: textButton('Remove'),
  ClearButton: textButton('Clear'),
};

/**
 * A connection's config, as a form rjsf generates from the provider's JSON Schema. It renders as a
 * fieldset inside the page's own form (forms do not nest), which submits it: `formRef` validates
 * it first. The API's problems under `/config` are shown at their fields.
 */
export function ConfigForm({
  provider,
  value,
  onChange,
  problems,
  formRef,
}: {
  provider: Provider;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  problems: Problem[];
  formRef: RefObject<Form | null>;
}) {
  return (
    <Form
      ref={formRef}
      tagName="fieldset"
      className="config-form"
      schema={{ title: 'Config', ...(provider.configSchema as RJSFSchema) }}
      validator={schemaValidator}
      experimental_defaultFormStateBehavior={{ emptyObjectFields: 'skipEmptyDefaults' }}
      formData={value}
      onChange={(event) => onChange((event.formData ?? {}) as Record<string, unknown>)}
      extraErrors={errorSchemaOf(problems)}
      idPrefix="config"
      showErrorList={false}
      noHtml5Validate
      templates={{ ButtonTemplates: BUTTONS }}
    >
      {/* The page's form has the submit button. */}
      <></>
    </Form>
  );
}

/** Config as the API takes it: fields left empty (and objects left with nothing in them) are not sent. */
export function pruned(config: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const inner = pruned(value as Record<string, unknown>);
      if (Object.keys(inner).length > 0) kept[key] = inner;
    } else {
      kept[key] = value;
    }
  }
  return kept;
}

/** The fields each credential type holds, with their labels; the secret ones are password inputs. */
const CREDENTIAL_FIELDS: Record<CredentialType, { name: string; label: string; secret: boolean }[]> = {
  none: [],
  api_key: [
    { name: 'header', label: 'Header', secret: false },
    { name: 'key', label: 'Key', secret: true },
  ],
  bearer: [{ name: 'token', label: 'Token', secret: true }],
  basic: [
    { name: 'username', label: 'Username', secret: false },
    { name: 'password', label: 'Password', secret: true },
  ],
  hmac: [{ name: 'secret', label: 'Secret', secret: true }],
  oauth2: [],
};

export const CREDENTIAL_LABELS: Record<CredentialType, string> = {
  none: 'None',
  api_key: 'API key',
  bearer: 'Bearer token',
  basic: 'Username and password',
  hmac: 'HMAC secret',
  oauth2: 'OAuth 2 (connect)',
};

export interface CredentialsDraft {
  type: CredentialType;
  fields: Record<string, string>;
}

/** What `credentials` the API takes: the type and its fields. */
export function credentialsBody(draft: CredentialsDraft): Record<string, unknown> {
  const fields = Object.fromEntries(
    CREDENTIAL_FIELDS[draft.type].map((f) => [f.name, draft.fields[f.name] ?? '']),
  );
  return { type: draft.type, ...fields };
}

/**
 * The credential type and its fields. Credentials are write-only: nothing here is ever filled from
 * the API. OAuth 2 credentials come from the connect flow, not from fields.
 */
export function CredentialFields({
  types,
  draft,
  onChange,
  problems,
  idPrefix,
}: {
  types: CredentialType[];
  draft: CredentialsDraft;
  onChange: (draft: CredentialsDraft) => void;
  problems: Problem[];
  idPrefix: string;
}) {
  const at = (path: string) => problems.filter((problem) => problem.path === path).map((p) => p.message);
  const typeErrors = at('/type');
  return (
    <fieldset className="credentials">
      <legend>Credentials</legend>
      <label htmlFor={`${idPrefix}-type`}>Credential type</label>
      <select
        id={`${idPrefix}-type`}
        value={draft.type}
        onChange={(event) => onChange({ type: event.target.value as CredentialType, fields: {} })}
        aria-invalid={typeErrors.length > 0 || undefined}
        aria-describedby={typeErrors.length > 0 ? `${idPrefix}-type-error` : undefined}
      >
        {types.map((type) => (
          <option key={type} value={type}>
            {CREDENTIAL_LABELS[type]}
          </option>
        ))}
      </select>
      <FieldErrors id={`${idPrefix}-type-error`} messages={typeErrors} />
      {CREDENTIAL_FIELDS[draft.type].map((field) => {
        const id = `${idPrefix}-${field.name}`;
        const errors = at(`/${field.name}`);
        return (
          <div key={field.name}>
            <label htmlFor={id}>{field.label}</label>
            <input
              id={id}
              type={field.secret ? 'password' : 'text'}
              autoComplete={field.secret ? 'new-password' : 'off'}
              value={draft.fields[field.name] ?? ''}
              onChange={(event) =>
                onChange({ ...draft, fields: { ...draft.fields, [field.name]: event.target.value } })
              }
              aria-invalid={errors.length > 0 || undefined}
              aria-describedby={errors.length > 0 ? `${id}-error` : undefined}
            />
            <FieldErrors id={`${id}-error`} messages={errors} />
          </div>
        );
      })}
      {draft.type === 'oauth2' && (
        <p className="hint">These credentials come from the partner: use Connect with OAuth.</p>
      )}
    </fieldset>
  );
}

export function FieldErrors({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <p id={id} className="field-error">
      {messages.join('; ')}
    </p>
  );
}

/** Starts the OAuth flow and sends the browser to the partner, which sends it back to Junction. */
export async function connectWithOAuth(body: {
  provider: string;
  name: string;
  config?: Record<string, unknown>;
  accountId?: string;
}): Promise<void> {
  const started = unwrapFields(await api.POST('/connections/oauth/start', { body }), CONNECTION_FIELDS);
  window.location.assign(started.authorizationUrl);
}
