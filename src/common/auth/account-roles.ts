/**
 * The roles, in a file that imports nothing, so the command line's option choices cost no loading
 * of @nestjs/swagger (roles.ts, with the route decorators, re-exports them).
 */
export const ACCOUNT_ROLES = ['admin', 'operator', 'viewer'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

const RANK: Record<AccountRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** admin can do all an operator can, an operator all a viewer can. */
export function roleAtLeast(role: AccountRole, required: AccountRole): boolean {
  return RANK[role] >= RANK[required];
}
