import { Injectable } from '@nestjs/common';
import type { SchemaViolation } from '../../../common/json-schema.js';
import { templateProblems } from '../../../common/template.js';
import { secretsOf } from '../credentials.js';
import type { CredentialType } from '../credentials.js';
import { Provider } from '../provider.decorator.js';
import type {
  ConnectionProvider,
  OpenedCredentials,
  ProviderConnection,
  RateLimit,
} from '../provider.decorator.js';
import { PartnerHttpClient } from './partner-http.client.js';

export const HTTP_PROVIDER_KEY = 'http';

/** One request an `http` connection can send; its strings are `{{input.x}}` templates. */
export interface HttpAction {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to baseUrl, starting with `/`. */
  path: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  body?: unknown;
  /** A header that carries a key which stays the same across the retries of one job. */
  idempotencyHeader?: string;
}

/** A connection's config for the `http` provider, as its schema allows it. */
export interface HttpConfig {
  baseUrl: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** What the connection test GETs, relative to baseUrl; baseUrl itself by default. */
  checkPath?: string;
  /** The partner's limit, instead of the provider's 10 calls per second. */
  rateLimit?: RateLimit;
  actions?: Record<string, HttpAction>;
}

const ACTION_SCHEMA = {
  type: 'object',
  required: ['method', 'path'],
  additionalProperties: false,
  properties: {
    method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    path: { type: 'string', pattern: '^/', maxLength: 2000 },
    query: { type: 'object' },
    headers: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } },
    body: {},
    idempotencyHeader: { type: 'string', pattern: '^[A-Za-z0-9-]{1,100}$' },
  },
};

const HTTP_CONFIG_SCHEMA = {
  type: 'object',
  required: ['baseUrl'],
  additionalProperties: false,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'The partner API’s base URL',
    },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 4096 },
      description: 'Sent with every call; put secrets in the credentials instead',
    },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 120_000, default: 10_000 },
    checkPath: { type: 'string', pattern: '^/', maxLength: 2000 },
    rateLimit: {
      type: 'object',
      required: ['requests', 'perMs'],
      additionalProperties: false,
      properties: { requests: { type: 'integer', minimum: 1 }, perMs: { type: 'integer', minimum: 1 } },
    },
    actions: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,100}$' },
      additionalProperties: ACTION_SCHEMA,
    },
    pollers: { type: 'object', additionalProperties: { type: 'object' } },
  },
};

const CREDENTIAL_TYPES: CredentialType[] = ['none', 'api_key', 'bearer', 'basic'];

/** The built-in provider for any REST partner, configured instead of coded. */
@Injectable()
@Provider({
  key: HTTP_PROVIDER_KEY,
  title: 'Any REST partner',
  kinds: ['rest'],
  configSchema: HTTP_CONFIG_SCHEMA,
  credentialTypes: CREDENTIAL_TYPES,
  capabilities: ['actions', 'pollers'],
  // A connection's config.rateLimit overrides it, for a partner that allows more or fewer.
  rateLimit: { requests: 10, perMs: 1000 },
})
export class HttpProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

  /** Action templates may read only the job's `input`: `{{input.orderId}}`. */
  validate(config: Record<string, unknown>): SchemaViolation[] {
    const actions = (config as unknown as HttpConfig).actions ?? {};
    return Object.entries(actions).flatMap(([name, action]) =>
      (['path', 'query', 'headers', 'body'] as const).flatMap((part) =>
        templateProblems(action[part], ['input']).map((message) => ({
          path: `/config/actions/${name}/${part}`,
          message,
        })),
      ),
    );
  }

  /** GETs the check path (or the base URL) with the connection's headers and credentials; a 2xx passes. */
  async check(connection: ProviderConnection, signal: AbortSignal): Promise<void> {
    const config = connection.config as unknown as HttpConfig;
    await this.http.request({
      method: 'GET',
      url: joinUrl(config.baseUrl, config.checkPath ?? ''),
      headers: { ...config.headers, ...authHeaders(connection.credentials) },
      timeoutMs: config.timeoutMs,
      signal,
      secrets: secretsOf(connection.credentials),
    });
  }
}

/** The headers that carry a connection's credentials. */
export function authHeaders(credentials: OpenedCredentials): Record<string, string> {
  switch (credentials.type) {
    case 'api_key':
      return { [credentials.header]: credentials.key };
    case 'bearer':
      return { authorization: `Bearer ${credentials.token}` };
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      };
    case 'none':
    case 'hmac':
    case 'oauth2':
      return {};
  }
}

/** `path` appended to `base`, with one slash between them. */
export function joinUrl(base: string, path: string): string {
  return path === '' ? base : `${base.replace(/\/+$/, '')}${path}`;
}
