import { BadRequestException, Injectable } from '@nestjs/common';
import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';

/** How a text that holds U+0000 is refused: PostgreSQL cannot store it in a text column (SQLite can). */
export const NUL_REFUSED = 'must not contain the NUL character (\\u0000)';

/** Whether `text` holds U+0000. */
export function hasNul(text: string): boolean {
  return text.includes('\0');
}

/**
 * Where in a request value a text field holds U+0000: its path (`events.0.source`, '' for the value
 * itself), or null. Fields declared as any JSON (`data: unknown`, `payload: Record<string, unknown>`)
 * are left alone: they are stored as JSON text, where U+0000 stays escaped, and skipping them keeps a
 * large body from being walked again. So are plain objects below a DTO, which are such JSON, unless
 * `plainObjects` (query strings and path parameters, whose values are all text).
 */
export function findNul(value: unknown, plainObjects = false, path = ''): string | null {
  if (typeof value === 'string') return hasNul(value) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], plainObjects, join(path, String(i)));
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const prototype = Object.getPrototypeOf(value) as object | null;
  const plain = prototype === Object.prototype || prototype === null;
  if (plain && !plainObjects) return null;
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string' && !hasNul(field)) continue;
    if (typeof field !== 'string' && (typeof field !== 'object' || field === null)) continue;
    if (!plain && declaredAsAnyJson(prototype, key)) continue;
    const found = findNul(field, plainObjects, join(path, key));
    if (found !== null) return found;
  }
  return null;
}

/** `unknown`, `object` and `Record<…>` properties are emitted with the design type `Object`. */
function declaredAsAnyJson(prototype: object, key: string): boolean {
  return Reflect.getMetadata('design:type', prototype, key) === Object;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Refuses with a 400 a request whose body field, query parameter or path parameter holds U+0000,
 * on every database alike: PostgreSQL would otherwise fail the write or the filter with a 500.
 * Runs after the ValidationPipe, on the DTO it built.
 */
@Injectable()
export class NoNulPipe implements PipeTransform {
  transform(value: unknown, { type, data }: ArgumentMetadata): unknown {
    if (type === 'custom') return value;
    const found = findNul(value, type !== 'body');
    if (found === null) return value;
    const field = [data, found].filter(Boolean).join('.') || type;
    const label = type === 'body' ? field : `${type === 'query' ? 'query' : 'path'} parameter ${field}`;
    throw new BadRequestException([`${label} ${NUL_REFUSED}`]);
  }
}
