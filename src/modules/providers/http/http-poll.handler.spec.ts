import { stableJson } from '../../../common/stable-json.js';
import { later } from './paging.js';

describe('stableJson', () => {
  it('writes equal content equally whatever the order of its keys', () => {
    const a = { id: 'shp_1', status: 'delivered', meta: { b: 1, a: [{ y: 2, x: 1 }] } };
    const b = { meta: { a: [{ x: 1, y: 2 }], b: 1 }, status: 'delivered', id: 'shp_1' };
    expect(stableJson(a)).toBe(stableJson(b));
    expect(stableJson(a)).toBe('{"id":"shp_1","meta":{"a":[{"x":1,"y":2}],"b":1},"status":"delivered"}');
  });

  it('tells changed content apart', () => {
    expect(stableJson({ id: 1, status: 'a' })).not.toBe(stableJson({ id: 1, status: 'b' }));
    expect(stableJson([1, 2])).not.toBe(stableJson([2, 1]));
  });
});

describe('later', () => {
  it('compares numbers by value and anything else as text', () => {
    expect(later('9', '10')).toBe('10');
    expect(later('2026-12-05T10:00:00Z', '2026-12-04T23:00:00Z')).toBe('2026-12-05T10:00:00Z');
    expect(later(null, 'a')).toBe('a');
    expect(later('a', null)).toBe('a');
    expect(later(null, null)).toBeNull();
  });
});
