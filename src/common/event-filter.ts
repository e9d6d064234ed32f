import siftModule from 'sift';

// sift is CommonJS: the types see its default import as the module, at run time it is the function
// with its operations as properties.
const sift = siftModule as unknown as typeof siftModule.default & typeof siftModule;

/**
 * Every sift operation but `$where`, which compiles a string into a function (`new Function`):
 * with it, whoever may save a filter could run any code in the server, or stall it for good.
 */
const SAFE_OPERATIONS = Object.fromEntries(
  Object.entries(sift).filter(([name]) => name.startsWith('$') && name !== '$where'),
);

/**
 * A MongoDB-style query (routes' and webhook endpoints' `filter`) as a test of an event. Throws
 * sift's message for one that is not a query, or that uses `$where`.
 */
export function compileFilter<T>(query: Record<string, unknown>): (item: T) => boolean {
  return sift.createQueryTester(query, { operations: SAFE_OPERATIONS }) as (item: T) => boolean;
}
