/**
 * `{{path}}` templates over an event, for route payloads and job options. A string that is one
 * placeholder and nothing else takes the value at the path as it is (an object stays an object); a
 * placeholder inside a longer string is written as text. A path that leads nowhere gives null, or
 * an empty string inside text.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const PATH = /^[A-Za-z_$][\w$]*(\.[\w$-]+)*$/;

/** Lists what is wrong with a template's placeholders; `roots` are the names a path may start with. */
export function templateProblems(template: unknown, roots: readonly string[]): string[] {
  const problems: string[] = [];
  visitStrings(template, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) {
      const path = match[1];
      if (!PATH.test(path)) problems.push(`"${match[0]}" is not a {{dotted.path}}`);
      else if (!roots.includes(path.split('.')[0])) {
        problems.push(`"${match[0]}" must start with one of ${roots.join(', ')}`);
      }
    }
    const unbalanced = text.replace(PLACEHOLDER, '');
    if (unbalanced.includes('{{') || unbalanced.includes('}}')) problems.push(`"${text}" has an unclosed {{`);
  });
  return problems;
}

export function renderTemplate(template: unknown, scope: Record<string, unknown>): unknown {
  if (typeof template === 'string') return renderString(template, scope);
  if (Array.isArray(template)) return template.map((item) => renderTemplate(item, scope));
  if (template !== null && typeof template === 'object') {
    // The entries are fresh arrays: filled in place, as every partner call renders its body here.
    const entries: [string, unknown][] = Object.entries(template);
    for (const entry of entries) entry[1] = renderTemplate(entry[1], scope);
    return Object.fromEntries(entries);
  }
  return template;
}

/**
 * Renders a template meant to give text, such as a concurrency key; null when it comes out empty.
 * `encode`, when given, is applied to each value written into the text (a path segment's
 * percent-encoding), not to the template's own text.
 */
export function renderText(
  template: string,
  scope: Record<string, unknown>,
  encode?: (value: string) => string,
): string | null {
  const value = renderString(template, scope, encode);
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === '' ? null : text;
}

function renderString(
  text: string,
  scope: Record<string, unknown>,
  encode?: (value: string) => string,
): unknown {
  if (!text.includes('{{')) return text;
  const whole = encode ? null : WHOLE.exec(text);
  if (whole) return valueAt(scope, whole[1]) ?? null;
  return text.replace(PLACEHOLDER, (_match, path: string) => {
    const value = valueAt(scope, path);
    const written =
      value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    return encode ? encode(written) : written;
  });
}

/** The value at a dotted path (`data.shipments`) inside `scope`; undefined where the path leads nowhere. */
export function valueAt(scope: unknown, path: string): unknown {
  let value: unknown = scope;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((item) => visitStrings(item, visit));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      visitStrings(key, visit);
      visitStrings(item, visit);
    }
  }
}
