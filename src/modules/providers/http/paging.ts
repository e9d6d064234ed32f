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

/** An ISO-8601 time with its zone (`Z` or an offset); group 1 holds the fraction of a second. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const INTEGER = /^-?\d+$/;

/**
 * Orders two cursors (negative when `a` comes first): whole numbers exactly, other numbers by
 * value, ISO-8601 times with a zone by the instant they name (whatever their offsets and
 * precision), anything else as text.
 */
export function compareCursors(a: string, b: string): number {
  if (INTEGER.test(a) && INTEGER.test(b)) return sign(BigInt(a) - BigInt(b));
  const [x, y] = [Number(a), Number(b)];
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return sign(x - y);
  const [timeA, timeB] = [ISO_TIME.exec(a), ISO_TIME.exec(b)];
  const [atA, atB] = [Date.parse(a), Date.parse(b)];
  if (timeA && timeB && Number.isFinite(atA) && Number.isFinite(atB)) {
    if (atA !== atB) return sign(atA - atB);
    // The same millisecond: the digits beyond it, which Date drops, decide.
    const [restA, restB] = [(timeA[1] ?? '').slice(3), (timeB[1] ?? '').slice(3)];
    const width = Math.max(restA.length, restB.length);
    return textOrder(restA.padEnd(width, '0'), restB.padEnd(width, '0'));
  }
  return textOrder(a, b);
}

/** The later of two cursors, as `compareCursors` orders them. */
export function later(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return compareCursors(b, a) > 0 ? b : a;
}

function sign(difference: number | bigint): number {
  return difference > 0 ? 1 : difference < 0 ? -1 : 0;
}

function textOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A next-page token as the partner gave it, or null when there is no next page. */
export function tokenOf(value: unknown): string | null {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : null;
}
