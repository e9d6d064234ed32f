import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { AccountRole } from './roles.js';

/** Who is calling: set on the request by the API key strategy. */
export interface Principal {
  accountId: string;
  role: AccountRole;
  /** The API key's id, or the project token's. */
  apiKeyId: string;
  /** Set for a project token: it acts only under `/projects/{projectId}`, as its member. */
  projectId?: string;
  /** Set when the caller signed in to the dashboard: the session the cookie names. */
  sessionId?: string;
  sessionExpiresAt?: Date;
}

export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
    return principal;
  },
);
