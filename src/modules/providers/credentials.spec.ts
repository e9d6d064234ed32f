import { credentialHint, readCredentials } from './credentials.js';

describe('readCredentials', () => {
  it('reads bearer credentials when the provider takes them', () => {
    expect(readCredentials({ type: 'bearer', token: 't0ken-abcdefgh' }, ['none', 'bearer'])).toEqual({
      credentials: { type: 'bearer', fields: { token: 't0ken-abcdefgh' } },
    });
  });

  it('refuses a type the provider does not take, naming the accepted ones', () => {
    expect(readCredentials({ type: 'basic', username: 'u', password: 'p' }, ['none', 'bearer'])).toEqual({
      problems: [{ path: '/credentials/type', message: 'must be one of: none, bearer' }],
    });
  });

  it('names each missing and unknown field without repeating any value', () => {
    const read = readCredentials({ type: 'basic', username: '', extra: 'hunter2-secret' }, ['basic']);
    expect(read).toEqual({
      problems: [
        { path: '/credentials/username', message: 'must be a non-empty string' },
        { path: '/credentials/password', message: 'must be a non-empty string' },
        { path: '/credentials/extra', message: 'is not a field of basic credentials' },
      ],
    });
    expect(JSON.stringify(read)).not.toContain('hunter2');
  });

  it('refuses oauth2 credentials given by hand', () => {
    expect(readCredentials({ type: 'oauth2' }, ['oauth2'])).toHaveProperty('problems');
  });
});

describe('credentialHint', () => {
  it('shows the last four characters of a long secret', () => {
    expect(
      credentialHint({ type: 'api_key', fields: { header: 'X-Api-Key', key: 'k-1234567890-WXYZ' } }),
    ).toBe('…WXYZ');
  });

  it('shows nothing of a short secret or of no credentials', () => {
    expect(credentialHint({ type: 'bearer', fields: { token: 'short' } })).toBeNull();
    expect(credentialHint({ type: 'none', fields: {} })).toBeNull();
  });
});
