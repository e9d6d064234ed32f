import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Principal } from '../../common/auth/principal.js';
import { IS_PUBLIC, REQUIRED_ROLE, roleAtLeast } from '../../common/auth/roles.js';
import type { AccountRole } from '../../common/auth/roles.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { API_KEY_STRATEGY } from './api-key.strategy.js';

/** Global: every route needs a valid API key unless marked `@Public()`. */
@Injectable()
export class ApiKeyAuthGuard extends AuthGuard(API_KEY_STRATEGY) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    if (isPublic(this.reflector, context)) return true;
    return super.canActivate(context);
  }

  override handleRequest<T = Principal>(error: unknown, principal: T | false): T {
    if (error instanceof Error) throw error;
    if (!principal) throw new CommonError('UNAUTHENTICATED', 'invalid API key');
    return principal;
  }
}

/** Global, after authentication: the caller's role must reach the route's `@Roles(...)`. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (isPublic(this.reflector, context)) return true;
    const request = context.switchToHttp().getRequest<ScopedRequest>();
    const principal = request.user;
    if (principal?.projectId !== undefined) assertInsideProject(request, principal.projectId);
    const required = this.reflector.getAllAndOverride<AccountRole | undefined>(REQUIRED_ROLE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required) return true;
    if (principal && roleAtLeast(principal.role, required)) return true;
    throw new CommonError(
      'FORBIDDEN',
      `this needs the ${required} role; your account has the ${principal?.role ?? 'no'} role`,
    );
  }
}

interface ScopedRequest {
  user?: Principal;
  params?: Record<string, string>;
  routeOptions?: { url?: string };
}

/** A project token may call only routes under `/projects/{id}` of its own project. */
function assertInsideProject(request: ScopedRequest, projectId: string): void {
  const route = request.routeOptions?.url ?? '';
  if ((route === '/projects/:id' || route.startsWith('/projects/:id/')) && request.params?.id === projectId)
    return;
  throw new CommonError('FORBIDDEN', 'a project token acts only inside its own project');
}

function isPublic(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true;
}
