import { randomBytes } from 'node:crypto';

const TOKEN_MARK = 'jks_';

/** A session's token: 256 random bits, so one SHA-256 of it is enough to store. */
export function generateSessionToken(): string {
  return TOKEN_MARK + randomBytes(32).toString('base64url');
}

/** The Set-Cookie value that hands a browser its session (or, with no token, takes it back). */
export function sessionCookie(
  name: string,
  token: string | undefined,
  options: { maxAgeSeconds: number; secure: boolean },
): string {
  // HttpOnly: the page's scripts never read it. SameSite=Strict: no other site's page sends it.
  const parts = [
    `${name}=${token ?? ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${token ? options.maxAgeSeconds : 0}`,
  ];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
