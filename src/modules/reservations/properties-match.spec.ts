import { demandKey, propertiesMatch } from './properties-match.js';

describe('propertiesMatch', () => {
  it('matches when the item names no property', () => {
    expect(propertiesMatch({ color: 'red' }, {})).toBe(true);
  });

  it('matches when every named property is equal, nested values included', () => {
    expect(
      propertiesMatch({ color: 'red', size: { eu: 42 }, lot: 7 }, { color: 'red', size: { eu: 42 } }),
    ).toBe(true);
  });

  it('does not match a different value, type or a missing property', () => {
    expect(propertiesMatch({ color: 'red' }, { color: 'blue' })).toBe(false);
    expect(propertiesMatch({ lot: 7 }, { lot: '7' })).toBe(false);
    expect(propertiesMatch({}, { color: 'red' })).toBe(false);
  });
});

describe('demandKey', () => {
  it('is the same whatever the order of the properties', () => {
    expect(demandKey('t', { a: 1, b: 2 })).toBe(demandKey('t', { b: 2, a: 1 }));
    expect(demandKey('t', { a: 1 })).not.toBe(demandKey('u', { a: 1 }));
    expect(demandKey('t', { a: 1 })).not.toBe(demandKey('t', { a: 2 }));
  });
});
