import { storableKey, MAX_KEY_LENGTH } from './storable-key.js';

describe('storableKey', () => {
  it('keeps an id that fits the column as it is', () => {
    for (const id of ['parcel-1', 'ünïcödé ✓', 'x'.repeat(MAX_KEY_LENGTH)]) {
      expect(storableKey(id)).toBe(id);
    }
  });

  it('hashes an id that is too long, the same way each time', () => {
    const long = 'x'.repeat(MAX_KEY_LENGTH + 1);
    expect(storableKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(storableKey(long)).toBe(storableKey(long));
    expect(storableKey(long)).not.toBe(storableKey(`${long}y`));
  });

  it('hashes an id with a control character or a lone surrogate, which PostgreSQL cannot store as it is', () => {
    for (const id of ['a\u0000b', 'tab\there', 'line\n', 'del\u007f', 'c1\u0085', 'half\ud800']) {
      expect(storableKey(id)).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(storableKey('a\u0000b')).not.toBe(storableKey('a\u0000c'));
  });
});
