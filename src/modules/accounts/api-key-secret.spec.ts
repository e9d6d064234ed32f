import {
  extractApiKey,
  readCookie,
  generateApiKey,
  hashApiKey,
  hashMatches,
  KEY_PREFIX_LENGTH,
  keyPrefix,
} from './api-key-secret.js';

describe('api key secrets', () => {
  describe('generateApiKey', () => {
    it('makes distinct keys when called repeatedly', () => {
      const keys = Array.from({ length: 50 }, () => generateApiKey());

      expect(new Set(keys).size).toBe(keys.length);
    });

    it('makes a 46-character key starting with jk_ when called', () => {
      const key = generateApiKey();

      expect(key.startsWith('jk_')).toBe(true);
      expect(key).toHaveLength(46);
      expect(key).toMatch(/^jk_[A-Za-z0-9_-]{43}$/);
    });
  });

  describe('keyPrefix', () => {
    it('gives the first 12 characters when given a key', () => {
      const key = generateApiKey();

      expect(KEY_PREFIX_LENGTH).toBe(12);
      expect(keyPrefix(key)).toBe(key.slice(0, 12));
      expect(keyPrefix(key)).toHaveLength(12);
    });
  });

  describe('hashMatches', () => {
    const key = generateApiKey();
    const stored = hashApiKey(key);

    it('returns true when the key is the one hashed', () => {
      expect(hashMatches(key, stored)).toBe(true);
    });

    it('returns false when the key is a different one', () => {
      expect(hashMatches(generateApiKey(), stored)).toBe(false);
    });

    it('returns false when the stored hash is malformed', () => {
      expect(hashMatches(key, 'not-a-hash')).toBe(false);
      expect(hashMatches(key, '')).toBe(false);
      expect(hashMatches(key, stored.slice(0, 10))).toBe(false);
    });
  });

  describe('extractApiKey', () => {
    it('reads the key when the authorization header is Bearer', () => {
      expect(extractApiKey({ authorization: 'Bearer k' })).toBe('k');
    });

    it('reads the key when bearer is written in another case', () => {
      expect(extractApiKey({ authorization: 'bearer k' })).toBe('k');
      expect(extractApiKey({ authorization: 'BEARER k' })).toBe('k');
    });

    it('reads the key when it comes in x-api-key', () => {
      expect(extractApiKey({ 'x-api-key': 'k' })).toBe('k');
    });

    it('returns undefined when the authorization header is Basic', () => {
      expect(extractApiKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    });

    it('returns undefined when there are no headers', () => {
      expect(extractApiKey({})).toBeUndefined();
    });

    it('returns undefined when the headers are empty strings', () => {
      expect(extractApiKey({ authorization: '', 'x-api-key': '' })).toBeUndefined();
    });
  });

  describe('readCookie', () => {
    it('finds the named cookie among others', () => {
      expect(readCookie('a=1; junction_session=jks_x; b=2', 'junction_session')).toBe('jks_x');
    });

    it('returns undefined when the cookie is absent or empty', () => {
      expect(readCookie('a=1', 'junction_session')).toBeUndefined();
      expect(readCookie('junction_session=', 'junction_session')).toBeUndefined();
      expect(readCookie(undefined, 'junction_session')).toBeUndefined();
    });

    it('does not take a cookie whose name only ends the same way', () => {
      expect(readCookie('old_junction_session=x', 'junction_session')).toBeUndefined();
    });
  });
});
