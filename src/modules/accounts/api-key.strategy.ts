import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../common/auth/principal.js';
import { CommonError } from '../../common/errors/domain-error.js';
import { extractApiKey } from './api-key-secret.js';
import { ApiKeysService } from './api-keys.service.js';

export const API_KEY_STRATEGY = 'api-key';

@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, API_KEY_STRATEGY) {
  constructor(private readonly apiKeys: ApiKeysService) {
    super();
  }

  validate(request: FastifyRequest): Promise<Principal> {
    const key = extractApiKey(request.headers);
    if (!key) {
      throw new CommonError(
        'UNAUTHENTICATED',
        'missing API key: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    return this.apiKeys.authenticate(key);
  }
}
