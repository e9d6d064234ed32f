import type { QueryValue } from './partner-http.client.js';

/** Paging helpers shared by pollers and sync streams of the `http` provider. */

/** The rendered query without the parameters that came out empty, such as a cursor not yet known. */
export function queryOf(rendered: unknown): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = {};
  for (const [name, value] of Object.entries(rendered as Record<string, unknown>)) {
    if (value === null || value === undefined || value === '') continue;
    query[name] = typeof value === 'object' ? JSON.stringify(value) : (value as QueryValue);
  }
  return query;
}

/** The later of two cursors: numbers by value, anything else (ISO times) as text. */
export function later(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  const [x, y] = [Number(a), Number(b)];
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return y > x ? b : a;
  return b > a ? b : a;
}

/** A next-page token as the partner gave it, or null when there is no next page. */
export function tokenOf(value: unknown): string | null {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : null;
}
