import { EventError } from './event.error.js';

/** An event name: dot-separated segments of lowercase letters, digits, `_` and `-`, such as `order.created`. */
export const EVENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;
export const EVENT_NAME_MAX_LENGTH = 200;

const SEGMENT = /^[a-z0-9][a-z0-9_-]*$/;

export function isEventName(name: string): boolean {
  return name.length <= EVENT_NAME_MAX_LENGTH && EVENT_NAME_PATTERN.test(name);
}

export function assertEventName(name: string): void {
  if (!isEventName(name)) {
    throw new EventError(
      'INVALID_EVENT_NAME',
      `"${name}" is not an event name: dot-separated lowercase words, digits, _ or -, at most ${EVENT_NAME_MAX_LENGTH} characters`,
    );
  }
}

/**
 * Compiles a glob over event names: `*` stands for exactly one segment, `**` for one or more,
 * anything else for itself. `catalog.product.*` matches `catalog.product.updated`; `order.**`
 * matches `order.created` and `order.line.added` but not `order`. Returns null for a pattern that
 * is not one.
 */
export function compileEventPattern(pattern: string): RegExp | null {
  if (pattern.length === 0 || pattern.length > EVENT_NAME_MAX_LENGTH) return null;
  const parts: string[] = [];
  for (const segment of pattern.split('.')) {
    if (segment === '*') parts.push('[^.]+');
    else if (segment === '**') parts.push('[^.]+(?:\\.[^.]+)*');
    else if (SEGMENT.test(segment)) parts.push(segment);
    else return null;
  }
  return new RegExp(`^${parts.join('\\.')}$`);
}

/** Compiles a pattern given in `field` of a request, refusing one that is not a pattern. */
export function eventPattern(pattern: string, field: string): RegExp {
  const compiled = compileEventPattern(pattern);
  if (!compiled) {
    throw new EventError('INVALID_EVENT_PATTERN', `"${pattern}" is not an event pattern`, [
      { field, problems: ['dot-separated names, * for one segment, ** for one or more'] },
    ]);
  }
  return compiled;
}
