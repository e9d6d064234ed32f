import { Body, Controller, Get, Headers, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
  PickType,
} from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../../../common/auth/principal.js';
import type { Principal } from '../../../common/auth/principal.js';
import { Public, Roles } from '../../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../../common/errors/error-body.dto.js';
import { AppConfig } from '../../../config/app-config.js';
import { DASHBOARD_PATH } from '../../../dashboard.js';
import { CreateConnectionDto } from '../dto/connection-requests.dto.js';
import { ConnectionDto, toConnectionDto } from '../dto/connection.dto.js';
import { OAuthService } from './oauth.service.js';

/** The provider, name and owner as for `POST /connections`; the credentials come from the flow. */
export class OAuthStartDto extends PickType(CreateConnectionDto, ['provider', 'name', 'accountId'] as const) {
  @ApiPropertyOptional({ example: ['photos.read'], description: 'The provider’s default scopes when absent' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  scopes?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: {},
    description: "Settings, checked against the provider's configSchema",
  })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;
}

export class OAuthCallbackQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  code?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  state?: string;

  @ApiPropertyOptional({ description: 'Set by the partner when the person refused (access_denied ...)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  error?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  error_description?: string;
}

export class OAuthStartedDto {
  @ApiProperty({
    example:
      'https://partner.example/oauth/authorize?response_type=code&client_id=…&code_challenge_method=S256',
    description: 'Where to send the person who authorises Junction',
  })
  authorizationUrl!: string;

  @ApiProperty({ description: 'Single use; comes back in the callback' })
  state!: string;

  @ApiProperty({ example: '2026-12-06T10:10:00.000Z', description: 'The callback must come before this' })
  expiresAt!: Date;
}

const error = (status: number, description: string) => ({ status, description, type: ErrorBodyDto });

/**
 * OAuth 2 connect: start an authorisation (authorization code with PKCE), and the public callback
 * the partner sends the person back to, which creates or re-authorises the connection.
 */
@ApiTags('connections')
@ApiStandardErrors()
@Controller('connections/oauth')
export class OAuthController {
  constructor(
    private readonly oauth: OAuthService,
    private readonly config: AppConfig,
  ) {}

  @Post('start')
  @Roles('viewer')
  @ApiOperation({
    summary: 'Start connecting an OAuth 2 provider: answers the URL to send the person to (valid 10 minutes)',
  })
  @ApiCreatedResponse({ type: OAuthStartedDto })
  @ApiResponse(
    error(
      422,
      'Unknown provider, config that breaks its schema (INVALID_CONNECTION), a provider without oauth2 (OAUTH_NOT_SUPPORTED) or without a client id (OAUTH_NOT_CONFIGURED)',
    ),
  )
  start(@CurrentPrincipal() caller: Principal, @Body() body: OAuthStartDto): Promise<OAuthStartedDto> {
    return this.oauth.start(caller, body);
  }

  @Get('callback')
  @Public()
  @ApiOperation({
    summary:
      'Where the partner sends the person back (no API key: the single-use state is the proof); exchanges the code',
  })
  @ApiCreatedResponse({ description: 'The connection was created', type: ConnectionDto })
  @ApiOkResponse({
    description: 'An existing connection of that name was re-authorised',
    type: ConnectionDto,
  })
  @ApiResponse(
    error(400, 'Unknown, used or expired state (OAUTH_STATE_INVALID), or the person refused (OAUTH_DENIED)'),
  )
  @ApiResponse({
    status: 303,
    description:
      'For a browser (Accept: text/html), as when the dashboard started the flow: to the connection’s page, /ui/connections/{id}',
  })
  @ApiResponse(error(422, 'The partner refused the code (OAUTH_EXCHANGE_FAILED)'))
  async callback(
    @Query() query: OAuthCallbackQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectionDto | undefined> {
    const { connection, created } = await this.oauth.callback(query);
    // A person sent back by the partner sees the connection's page rather than its JSON.
    if (accept?.includes('text/html')) {
      void reply.status(303).header('location', `${DASHBOARD_PATH}/connections/${connection.id}`);
      return undefined;
    }
    void reply.status(created ? 201 : 200);
    return toConnectionDto(connection, this.config.publicUrl);
  }
}
