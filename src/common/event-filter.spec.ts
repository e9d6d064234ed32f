import { compileFilter } from './event-filter.js';

describe('compileFilter', () => {
  it('tests events with MongoDB-style operators', () => {
    const test = compileFilter<{ data: { total: number; country: string } }>({
      'data.total': { $gte: 100 },
      'data.country': { $in: ['DE', 'AT'] },
    });
    expect(test({ data: { total: 150, country: 'DE' } })).toBe(true);
    expect(test({ data: { total: 50, country: 'DE' } })).toBe(false);
  });

  it('refuses $where, at any depth, without running its code', () => {
    const ran = { count: 0 };
    (globalThis as Record<string, unknown>).__filterRan = ran;
    const code = '(globalThis.__filterRan.count += 1, true)';
    for (const query of [
      { $where: code },
      { $and: [{ a: 1 }, { $where: code }] },
      { a: { $not: { $where: code } } },
    ]) {
      expect(() => compileFilter(query)({ a: 1 })).toThrow('Unsupported operation: $where');
    }
    expect(ran.count).toBe(0);
  });
});
