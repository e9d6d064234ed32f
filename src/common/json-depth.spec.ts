import { nestsDeeperThan } from './json-depth.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** The depth of a parsed value, as a plain model to compare against. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const items: unknown[] = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...items.map(depthOf));
}

describe('nestsDeeperThan', () => {
  it('says true when arrays or objects nest one level past the limit, and false at the limit', () => {
    expect(nestsDeeperThan(bytes(arrays(10)), 10)).toBe(false);
    expect(nestsDeeperThan(bytes(arrays(11)), 10)).toBe(true);
    const objects = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
    expect(nestsDeeperThan(bytes(objects(10)), 10)).toBe(false);
    expect(nestsDeeperThan(bytes(objects(11)), 10)).toBe(true);
  });

  it('counts the deepest point, not the number of brackets, when siblings follow each other', () => {
    const wide = JSON.stringify(Array.from({ length: 100 }, () => [[[1]]]));
    expect(nestsDeeperThan(bytes(wide), 4)).toBe(false);
    expect(nestsDeeperThan(bytes(wide), 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes and backslashes included', () => {
    const text = JSON.stringify({
      a: '[[[[[[{{{{{{',
      b: 'say \\"[[[[[[\\" ok',
      c: ['\\', '"[[[['],
      d: 'é[ü{',
    });
    expect(nestsDeeperThan(bytes(text), 2)).toBe(false);
    // An escaped backslash ends right before the closing quote: the brackets after it count.
    expect(nestsDeeperThan(bytes('["\\\\",[[[1]]]]'), 3)).toBe(true);
  });

  it('does not read a text too short to be deeper than the limit', () => {
    // 2 * (limit + 1) bytes are needed; an unbalanced text this short is not scanned at all.
    expect(nestsDeeperThan(bytes('['.repeat(21)), 10)).toBe(false);
    expect(nestsDeeperThan(bytes('['.repeat(22)), 10)).toBe(true);
  });

  it('agrees with the depth of the parsed value on varied JSON', () => {
    const values: unknown[] = [
      {},
      [],
      { a: [1, { b: [2, [3, { c: '}]' }]] }], d: null },
      [[[[[['"\\']]]]], { e: { f: { g: { h: {} } } } }],
      { text: 'a \\ b " c [ d {', nested: [{ more: [[['x']]] }] },
    ];
    for (const value of values) {
      const text = bytes(JSON.stringify(value));
      const depth = depthOf(value);
      expect(nestsDeeperThan(text, depth - 1)).toBe(true);
      expect(nestsDeeperThan(text, depth)).toBe(false);
    }
  });
});
