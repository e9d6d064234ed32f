import { compileEventPattern, isEventName } from './event-name.js';

describe('event names', () => {
  it('accepts dot-separated lowercase segments', () => {
    expect(isEventName('order.created')).toBe(true);
    expect(isEventName('catalog.product_v2.re-indexed')).toBe(true);
    expect(isEventName('ping')).toBe(true);
  });

  it('refuses empty segments, upper case, spaces and over-long names', () => {
    for (const name of [
      '',
      'order.',
      '.order',
      'order..created',
      'Order.created',
      'order created',
      'a'.repeat(201),
    ]) {
      expect(isEventName(name)).toBe(false);
    }
  });
});

describe('compileEventPattern', () => {
  const matches = (pattern: string, name: string) => compileEventPattern(pattern)!.test(name);

  it('matches exactly one segment for *', () => {
    expect(matches('catalog.product.*', 'catalog.product.updated')).toBe(true);
    expect(matches('catalog.product.*', 'catalog.product')).toBe(false);
    expect(matches('catalog.product.*', 'catalog.product.variant.updated')).toBe(false);
    expect(matches('*.created', 'order.created')).toBe(true);
  });

  it('matches one or more segments for **', () => {
    expect(matches('order.**', 'order.created')).toBe(true);
    expect(matches('order.**', 'order.line.added')).toBe(true);
    expect(matches('order.**', 'order')).toBe(false);
    expect(matches('order.**', 'orders.created')).toBe(false);
    expect(matches('**', 'anything.at.all')).toBe(true);
    expect(matches('a.**.z', 'a.b.c.z')).toBe(true);
  });

  it('matches a literal pattern only itself', () => {
    expect(matches('order.created', 'order.created')).toBe(true);
    expect(matches('order.created', 'order.createdx')).toBe(false);
  });

  it('returns null for patterns that are not globs over names', () => {
    for (const pattern of ['', 'order.', 'order..x', 'order.*ed', 'ORDER.*', 'order.(x)', 'a'.repeat(201)]) {
      expect(compileEventPattern(pattern)).toBeNull();
    }
  });
});
