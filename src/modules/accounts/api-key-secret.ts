import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_MARK = 'jk_';
export const KEY_PREFIX_LENGTH = 12;

/** A new key: a mark that says what it is, then 256 random bits. */
export function generateApiKey(): string {
  return KEY_MARK + randomBytes(32).toString('base64url');
}

export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH);
}

/** Keys carry 256 bits of entropy, so one SHA-256 is enough; a slow hash would only slow every request. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function hashMatches(key: string, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  const given = Buffer.from(hashApiKey(key), 'hex');
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function extractApiKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
}

/** The dashboard's session cookie: HttpOnly, so the page's scripts never see it. */
export const SESSION_COOKIE = 'junction_session';
/**
 * The header a cookie-authenticated write must carry. A cross-site page cannot set a custom header
 * without a CORS preflight, which Junction never grants, so a forged form or fetch is refused.
 */
export const CSRF_HEADER = 'x-junction-request';

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}
