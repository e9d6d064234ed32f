import { ProviderError } from '../http/provider-error.js';

const MAX_PATH_LENGTH = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Why `path` is not a safe storage path, or null when it is one: relative, `/`-separated, with
 * no empty, `.` or `..` segment, no backslash and no control character (NUL included). These rules
 * keep a path inside the storage it names on every backend, a local folder as much as a URL.
 * `allowEmpty` accepts `''`, the storage's root, for a listing's prefix.
 */
export function storagePathProblem(path: string, allowEmpty = false): string | null {
  if (path === '') return allowEmpty ? null : 'must not be empty';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/')) return 'must be relative, not start with /';
  if (path.includes('\\')) return 'must use / between folders, not \\';
  if (CONTROL_CHARACTERS.test(path)) return 'must not contain control characters';
  for (const segment of path.split('/')) {
    if (segment === '') return 'must not have an empty segment (// or a / at either end)';
    if (segment === '.' || segment === '..') return 'must not have a . or .. segment';
  }
  return null;
}

/** The segments of a safe storage path (none for `''` when allowed); a PERMANENT ProviderError otherwise. */
export function storagePath(path: string, allowEmpty = false): string[] {
  const problem = storagePathProblem(path, allowEmpty);
  if (problem !== null)
    throw new ProviderError('PERMANENT', `the storage path ${JSON.stringify(path)} ${problem}`);
  return path === '' ? [] : path.split('/');
}
