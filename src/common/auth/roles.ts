import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const ACCOUNT_ROLES = ['admin', 'operator', 'viewer'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

const RANK: Record<AccountRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** admin can do all an operator can, an operator all a viewer can. */
export function roleAtLeast(role: AccountRole, required: AccountRole): boolean {
  return RANK[role] >= RANK[required];
}

export const REQUIRED_ROLE = 'junction:required-role';
export const IS_PUBLIC = 'junction:public';
/** Marks public operations in the OpenAPI document until the document builder clears their security. */
export const PUBLIC_EXTENSION = 'x-junction-public';

/** The lowest role that may call a route; routes without it are open to every authenticated account. */
export const Roles = (role: AccountRole) => SetMetadata(REQUIRED_ROLE, role);

/** A route that needs no API key (health, docs). */
export const Public = () =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_EXTENSION, true));
