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

  it('refuses what cannot be sent in a header: a bad header name, a line break in a key or token', () => {
    const read = readCredentials({ type: 'api_key', header: 'X API Key:', key: 'k3y\r\nX-Evil: 1' }, [
      'api_key',
    ]);
    expect(read).toEqual({
      problems: [
        { path: '/credentials/header', message: 'must be a header name, such as X-API-Key' },
        { path: '/credentials/key', message: 'must not contain control characters' },
      ],
    });
    expect(readCredentials({ type: 'bearer', token: 'a\u0000b' }, ['bearer'])).toHaveProperty('problems');
    expect(readCredentials({ type: 'api_key', header: 'X-Api_Key.1', key: 'k3y\tok' }, ['api_key'])).toEqual({
      credentials: { type: 'api_key', fields: { header: 'X-Api_Key.1', key: 'k3y\tok' } },
    });
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
