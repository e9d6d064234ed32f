import type { SchemaViolation } from '../../common/json-schema.js';

/** Parts of JSON Schemas that several providers' configs and project settings share. */

/**
 * The longest rate window: Node's timers, which the in-memory budget uses, cannot wait longer
 * (about 24.8 days); a longer one would free its calls at once.
 */
export const MAX_RATE_WINDOW_MS = 2 ** 31 - 1;

/** A connection's `config.rateLimit`: at most `requests` calls per `perMs` ms, overriding its provider's. */
export const RATE_LIMIT_SCHEMA = {
  type: 'object',
  required: ['requests', 'perMs'],
  additionalProperties: false,
  properties: {
    requests: { type: 'integer', minimum: 1 },
    perMs: { type: 'integer', minimum: 1, maximum: MAX_RATE_WINDOW_MS },
  },
};

// A user or password in a URL (`https://user:pass@host`, `https://token@host`).
const URL_WITH_USERINFO = /^\s*[a-z][a-z\d+.-]*:\/\/[^/?#\s]*@/i;

/**
 * Every string of a connection's config that is a URL carrying a user or password. Config is
 * stored and shown as it is, unlike the sealed credentials, so such a URL would put the secret in
 * every answer about the connection.
 */
export function userinfoProblems(value: unknown, path = '/config'): SchemaViolation[] {
  if (typeof value === 'string') {
    return URL_WITH_USERINFO.test(value)
      ? [{ path, message: 'must not carry a user or password; give them as the connection’s credentials' }]
      : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    userinfoProblems(item, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`),
  );
}

/**
 * A source-code provider's branch patterns for a project: the first a branch matches gives it its
 * parent and, by a `feature` group, its feature: `{ "pattern": "^feature/(?<feature>[A-Z]+-[0-9]+)",
 * "parent": "develop" }`.
 */
export const BRANCH_PATTERNS_SCHEMA = {
  type: 'array',
  maxItems: 50,
  items: {
    type: 'object',
    required: ['pattern'],
    additionalProperties: false,
    properties: {
      pattern: { type: 'string', minLength: 1, maxLength: 500 },
      parent: { type: 'string', minLength: 1, maxLength: 250 },
    },
  },
};

/** Each branch pattern of the settings must be a regular expression. */
export function branchPatternProblems(settings: Record<string, unknown>): SchemaViolation[] {
  const branches = (settings.branches ?? []) as { pattern: string }[];
  return branches.flatMap(({ pattern }, index) => {
    try {
      new RegExp(pattern);
      return [];
    } catch (error) {
      return [{ path: `/settings/branches/${index}/pattern`, message: (error as Error).message }];
    }
  });
}
