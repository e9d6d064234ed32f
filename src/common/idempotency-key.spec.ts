import { idempotencyKeyOf, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency-key.js';

describe('idempotencyKeyOf', () => {
  it('keeps an id that fits the column as it is', () => {
    for (const id of ['parcel-1', 'ünïcödé ✓', 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH)]) {
      expect(idempotencyKeyOf(id)).toBe(id);
    }
  });

  it('hashes an id that is too long, the same way each time', () => {
    const long = 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1);
    expect(idempotencyKeyOf(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(idempotencyKeyOf(long)).toBe(idempotencyKeyOf(long));
    expect(idempotencyKeyOf(long)).not.toBe(idempotencyKeyOf(`${long}y`));
  });

  it('hashes an id with a control character or a lone surrogate, which PostgreSQL cannot store as it is', () => {
    for (const id of ['a\u0000b', 'tab\there', 'line\n', 'del\u007f', 'c1\u0085', 'half\ud800']) {
      expect(idempotencyKeyOf(id)).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(idempotencyKeyOf('a\u0000b')).not.toBe(idempotencyKeyOf('a\u0000c'));
  });
});
