import { renderTemplate, renderText, templateProblems } from './template.js';

const event = {
  id: 'e1',
  name: 'order.created',
  data: { total: 120, accountId: 'acc-7', lines: [{ sku: 'A-1', qty: 2 }], customer: { email: 'x@y.z' } },
};

describe('renderTemplate', () => {
  it('keeps the type of a value that a whole string names', () => {
    expect(renderTemplate({ total: '{{data.total}}', lines: '{{ data.lines }}' }, event)).toEqual({
      total: 120,
      lines: [{ sku: 'A-1', qty: 2 }],
    });
  });

  it('writes placeholders inside longer strings as text', () => {
    expect(renderTemplate('order {{id}} for {{data.customer.email}}', event)).toBe('order e1 for x@y.z');
  });

  it('reads array items by index and walks nested templates', () => {
    expect(renderTemplate(['{{data.lines.0.sku}}', { n: 3, deep: ['{{name}}'] }], event)).toEqual([
      'A-1',
      { n: 3, deep: ['order.created'] },
    ]);
  });

  it('gives null for a missing whole value and empty text inside a string', () => {
    expect(renderTemplate({ a: '{{data.nothing}}', b: 'x{{data.nothing.deeper}}y' }, event)).toEqual({
      a: null,
      b: 'xy',
    });
  });

  it('does not read inherited properties', () => {
    expect(renderTemplate('{{data.constructor}}', event)).toBeNull();
  });
});

describe('renderText', () => {
  it('renders keys as text and empty keys as null', () => {
    expect(renderText('{{data.accountId}}', event)).toBe('acc-7');
    expect(renderText('{{data.total}}', event)).toBe('120');
    expect(renderText('{{data.missing}}', event)).toBeNull();
  });

  it('encodes each value written into the text, and only the values, when asked to', () => {
    const encode = (value: string) => `<${value}>`;
    expect(renderText('/a/{{data.accountId}}/{{data.missing}}', event, encode)).toBe('/a/<acc-7>/<>');
    expect(renderText('{{data.total}}', event, encode)).toBe('<120>');
  });
});

describe('templateProblems', () => {
  const roots = ['id', 'name', 'data'];

  it('accepts placeholders on known roots', () => {
    expect(templateProblems({ a: '{{data.x}}', b: ['{{ name }} {{id}}'] }, roots)).toEqual([]);
  });

  it('names placeholders on unknown roots, malformed paths and unclosed braces', () => {
    const problems = templateProblems({ a: '{{secrets.key}}', b: '{{data..x}}', c: 'x {{data.y' }, roots);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('must start with one of id, name, data');
    expect(problems[1]).toContain('is not a {{dotted.path}}');
    expect(problems[2]).toContain('unclosed');
  });
});
