import type { SchemaViolation } from '../../common/json-schema.js';

/** The credential types a provider may accept, and the fields each one holds (all strings). */
export const CREDENTIAL_FIELDS = {
  none: [],
  api_key: ['header', 'key'],
  bearer: ['token'],
  basic: ['username', 'password'],
  hmac: ['secret'],
  // Filled in by the OAuth flow (OAuthService), never by hand: expiresAt is an ISO time or ''.
  oauth2: ['accessToken', 'refreshToken', 'expiresAt', 'tokenType', 'scope'],
} as const satisfies Record<string, readonly string[]>;

/** Credential fields that are not secret: never masked, since masking them would hide ordinary words. */
const PUBLIC_FIELDS = new Set(['header', 'username', 'expiresAt', 'tokenType', 'scope']);

export type CredentialType = keyof typeof CREDENTIAL_FIELDS;
export const CREDENTIAL_TYPES = Object.keys(CREDENTIAL_FIELDS) as CredentialType[];

/** The field whose last characters a response may show as a hint; the others stay hidden. */
const SECRET_FIELD: Record<CredentialType, string | null> = {
  none: null,
  api_key: 'key',
  bearer: 'token',
  basic: 'password',
  hmac: 'secret',
  oauth2: null,
};

const MAX_FIELD_LENGTH = 4096;
/**
 * Fields sent in a header, checked as undici will: a bad one would otherwise fail every call
 * (UND_ERR_INVALID_ARG) instead of being refused when saved. A header name is an RFC 9110 token.
 */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const HEADER_FIELD_PROBLEM: Partial<Record<string, (value: string) => string | null>> = {
  header: (value) => (HEADER_NAME.test(value) ? null : 'must be a header name, such as X-API-Key'),
  key: (value) => (CONTROL_CHARACTER.test(value) ? 'must not contain control characters' : null),
  token: (value) => (CONTROL_CHARACTER.test(value) ? 'must not contain control characters' : null),
};
const HINT_LENGTH = 4;
/** Secrets shorter than this show no hint: four characters would give away too much of them. */
const MIN_LENGTH_FOR_HINT = 12;

export interface Credentials {
  type: CredentialType;
  fields: Record<string, string>;
}

/**
 * Checks credentials as a client sent them (`{ type, ...fields }`) against the types a provider
 * takes. Returns them normalised, or the problems, each naming its field; messages never repeat
 * a value.
 */
export function readCredentials(
  input: unknown,
  accepted: readonly CredentialType[],
): { credentials: Credentials } | { problems: SchemaViolation[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { problems: [{ path: '/credentials', message: 'must be an object with a type' }] };
  const { type, ...fields } = input as Record<string, unknown>;
  if (typeof type !== 'string' || !accepted.includes(type as CredentialType)) {
    return {
      problems: [{ path: '/credentials/type', message: `must be one of: ${accepted.join(', ')}` }],
    };
  }
  if (type === 'oauth2') {
    return {
      problems: [
        { path: '/credentials/type', message: 'oauth2 connections are made through the OAuth flow' },
      ],
    };
  }
  const expected: readonly string[] = CREDENTIAL_FIELDS[type as CredentialType];
  const problems: SchemaViolation[] = [];
  const read: Record<string, string> = {};
  for (const field of expected) {
    const value = fields[field];
    if (typeof value !== 'string' || value.length === 0) {
      problems.push({ path: `/credentials/${field}`, message: 'must be a non-empty string' });
    } else if (value.length > MAX_FIELD_LENGTH) {
      problems.push({
        path: `/credentials/${field}`,
        message: `must be at most ${MAX_FIELD_LENGTH} characters`,
      });
    } else {
      const problem = HEADER_FIELD_PROBLEM[field]?.(value);
      if (problem) problems.push({ path: `/credentials/${field}`, message: problem });
      else read[field] = value;
    }
  }
  for (const field of Object.keys(fields).filter((name) => !expected.includes(name))) {
    problems.push({ path: `/credentials/${field}`, message: `is not a field of ${type} credentials` });
  }
  return problems.length > 0 ? { problems } : { credentials: { type: type as CredentialType, fields: read } };
}

/**
 * `…wxyz`: the last characters of the secret field, or null when showing them would say too much.
 * Counted in code points, so a character outside the BMP (an emoji) is never cut in half.
 */
export function credentialHint({ type, fields }: Credentials): string | null {
  const field = SECRET_FIELD[type];
  const characters = Array.from((field ? fields[field] : undefined) ?? '');
  if (characters.length < MIN_LENGTH_FOR_HINT) return null;
  return `…${characters.slice(-HINT_LENGTH).join('')}`;
}

/**
 * The values to mask wherever text about a call is written (logs, error messages): the secret
 * fields, and for basic credentials the base64 of the Authorization header, which reveals the
 * password as well.
 */
export function secretsOf(credentials: { type: CredentialType } & Record<string, string>): string[] {
  const { type, ...fields } = credentials;
  const values = Object.entries(fields)
    .filter(([name, value]) => !PUBLIC_FIELDS.has(name) && value !== '')
    .map(([, value]) => value);
  if (type === 'basic') values.push(Buffer.from(`${fields.username}:${fields.password}`).toString('base64'));
  return values;
}
