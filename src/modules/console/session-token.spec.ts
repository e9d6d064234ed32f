import { generateSessionToken, sessionCookie } from './session-token.js';

describe('session cookies', () => {
  it('sets an HttpOnly, SameSite=Strict cookie for the whole site', () => {
    expect(sessionCookie('s', 'jks_x', { maxAgeSeconds: 60, secure: false })).toBe(
      's=jks_x; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
  });

  it('marks the cookie Secure when the request came over https', () => {
    expect(sessionCookie('s', 'jks_x', { maxAgeSeconds: 60, secure: true })).toMatch(/; Secure$/);
  });

  it('clears the cookie when there is no token', () => {
    expect(sessionCookie('s', undefined, { maxAgeSeconds: 60, secure: false })).toContain('Max-Age=0');
  });

  it('makes tokens that differ and say what they are', () => {
    const a = generateSessionToken();
    expect(a).toMatch(/^jks_[\w-]{43}$/);
    expect(generateSessionToken()).not.toBe(a);
  });
});
