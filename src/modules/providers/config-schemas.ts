import type { SchemaViolation } from '../../common/json-schema.js';

/** Parts of JSON Schemas that several providers' configs and project settings share. */

/** A connection's `config.rateLimit`: at most `requests` calls per `perMs` ms, overriding its provider's. */
export const RATE_LIMIT_SCHEMA = {
  type: 'object',
  required: ['requests', 'perMs'],
  additionalProperties: false,
  properties: { requests: { type: 'integer', minimum: 1 }, perMs: { type: 'integer', minimum: 1 } },
};

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
