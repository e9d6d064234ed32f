import type { Linter } from 'eslint';

/** The module boundary rule's config blocks (eslint.boundaries.js), for the spec that proves it. */
export declare const moduleBoundaries: Linter.Config[];
