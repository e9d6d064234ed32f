import { stableJson } from './stable-json.js';

/** The first implementation, whose output stored record hashes were made from. */
function original(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(original).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${original(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

describe('stableJson', () => {
  it('writes exactly what the first implementation wrote, so stored hashes stay valid', () => {
    const values: unknown[] = [
      null,
      undefined,
      0,
      -1.5,
      'text with "quotes" and ünïcödé',
      true,
      [],
      {},
      [1, [2, [3, null]], { b: 1, a: 2 }],
      { z: 1, a: { y: [{ d: 4, c: 3 }], x: undefined }, m: 'm', '10': 1, '9': 2, B: 0, b: 1 },
      { id: 'p-1', title: 'Photo 1', size: 1, takenAt: '2025-06-01T12:00:00.000Z', updatedAt: 'x' },
      { when: new Date(0), list: [undefined, null] },
    ];
    for (const value of values) expect(stableJson(value)).toBe(original(value));
  });

  it('is the same for the same content in any key order', () => {
    expect(stableJson({ b: { d: 1, c: 2 }, a: [1] })).toBe(stableJson({ a: [1], b: { c: 2, d: 1 } }));
    expect(stableJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});
