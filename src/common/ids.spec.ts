import { newId } from './ids.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newId', () => {
  it('makes a UUID v7 when called without a time', () => {
    expect(newId()).toMatch(UUID_V7);
  });

  it('makes a UUID v7 when given a time', () => {
    expect(newId(Date.UTC(2030, 0, 1))).toMatch(UUID_V7);
  });

  it('sorts a later id after an earlier one when made a millisecond later', () => {
    const now = Date.now() + 120_000;
    for (let i = 0; i < 100; i++) {
      const earlier = newId(now + i);
      const later = newId(now + i + 1);

      expect(later > earlier).toBe(true);
    }
  });

  it('makes 10000 distinct, ascending ids when called 10000 times in the same millisecond', () => {
    const now = Date.now() + 60_000;

    const ids = Array.from({ length: 10_000 }, () => newId(now));

    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
  });
});
