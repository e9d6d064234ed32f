import { Injectable } from '@nestjs/common';
import { secretValues } from '../credentials.js';
import type { CredentialType } from '../credentials.js';
import { Provider } from '../provider.decorator.js';
import type { ConnectionProvider, OpenedCredentials, ProviderConnection } from '../provider.decorator.js';
import { PartnerHttpClient } from './partner-http.client.js';

/** A connection's config for the `http` provider, as its schema allows it. */
export interface HttpConfig {
  baseUrl: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** What the connection test GETs, relative to baseUrl; baseUrl itself by default. */
  checkPath?: string;
}

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
    actions: { type: 'object', additionalProperties: { type: 'object' } },
    pollers: { type: 'object', additionalProperties: { type: 'object' } },
  },
};

const CREDENTIAL_TYPES: CredentialType[] = ['none', 'api_key', 'bearer', 'basic'];

/** The built-in provider for any REST partner, configured instead of coded. */
@Injectable()
@Provider({
  key: 'http',
  title: 'Any REST partner',
  kinds: ['rest'],
  configSchema: HTTP_CONFIG_SCHEMA,
  credentialTypes: CREDENTIAL_TYPES,
  capabilities: ['actions', 'pollers'],
})
export class HttpProvider implements ConnectionProvider {
  constructor(private readonly http: PartnerHttpClient) {}

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

function secretsOf(credentials: OpenedCredentials): string[] {
  const { type, ...fields } = credentials;
  const values = secretValues({ type, fields });
  // The Basic header's base64 would reveal the password as well.
  if (type === 'basic') values.push(Buffer.from(`${fields.username}:${fields.password}`).toString('base64'));
  return values;
}

function joinUrl(base: string, path: string): string {
  return path === '' ? base : `${base.replace(/\/+$/, '')}${path}`;
}
