import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Public } from '../../common/auth/roles.js';
import { ApiStandardErrors } from '../../common/errors/error-body.dto.js';
import { SESSION_COOKIE } from '../accounts/accounts.contract.js';
import { CreateSessionDto } from './dto/session-requests.dto.js';
import { SessionDto, toSessionDto } from './dto/session.dto.js';
import { SESSION_TTL_SECONDS, SessionsService } from './sessions.service.js';
import { sessionCookie } from './session-token.js';

@ApiTags('console')
@ApiStandardErrors()
@Controller('session')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @Public()
  @ApiOperation({
    summary: 'Sign in to the dashboard',
    description:
      'Exchanges an API key for a session cookie (HttpOnly, SameSite=Strict). Requests made with the ' +
      'cookie act with the key’s role; those that change something must carry `X-Junction-Request: 1`.',
  })
  @ApiCreatedResponse({ type: SessionDto })
  async signIn(
    @Body() body: CreateSessionDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionDto> {
    const { token, signedIn } = await this.sessions.signIn(body.apiKey);
    void reply.header('set-cookie', cookie(request, token));
    return toSessionDto(signedIn);
  }

  @Get()
  @ApiOperation({ summary: 'Who is signed in' })
  @ApiOkResponse({ type: SessionDto })
  async whoIs(@CurrentPrincipal() principal: Principal): Promise<SessionDto> {
    return toSessionDto(await this.sessions.whoIs(principal));
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: the session is revoked and its cookie cleared' })
  @ApiNoContentResponse()
  async signOut(
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.sessions.signOut(principal);
    void reply.header('set-cookie', cookie(request, undefined));
  }
}

function cookie(request: FastifyRequest, token: string | undefined): string {
  return sessionCookie(SESSION_COOKIE, token, {
    maxAgeSeconds: SESSION_TTL_SECONDS,
    secure: request.protocol === 'https',
  });
}
