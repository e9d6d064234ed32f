import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../common/auth/principal.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { CSRF_HEADER, extractApiKey, readCookie, SESSION_COOKIE } from './api-key-secret.js';
import { ApiKeysService } from './api-keys.service.js';

export const API_KEY_STRATEGY = 'api-key';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, API_KEY_STRATEGY) {
  constructor(private readonly apiKeys: ApiKeysService) {
    super();
  }

  validate(request: FastifyRequest): Promise<Principal> {
    const key = extractApiKey(request.headers);
    if (key) return this.apiKeys.authenticate(key);
    // The dashboard: a session cookie instead of a key. A key in a header wins over the cookie.
    const session = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (session) {
      if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== '1') {
        throw new CommonError(
          'FORBIDDEN',
          `a change made with the session cookie must carry the header "${CSRF_HEADER}: 1"`,
        );
      }
      return this.apiKeys.authenticateSession(session);
    }
    throw new CommonError(
      'UNAUTHENTICATED',
      'missing API key: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
    );
  }
}
