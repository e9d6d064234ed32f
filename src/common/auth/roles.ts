import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { AccountRole } from './account-roles.js';

export { ACCOUNT_ROLES, roleAtLeast } from './account-roles.js';
export type { AccountRole } from './account-roles.js';

export const REQUIRED_ROLE = 'junction:required-role';
export const IS_PUBLIC = 'junction:public';
/** Marks public operations in the OpenAPI document until the document builder clears their security. */
export const PUBLIC_EXTENSION = 'x-junction-public';

/** The lowest role that may call a route; routes without it are open to every authenticated account. */
export const Roles = (role: AccountRole) => SetMetadata(REQUIRED_ROLE, role);

/** A route that needs no API key (health, docs). */
export const Public = () =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(PUBLIC_EXTENSION, true));
