import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { mapPage } from '../../common/pagination/pagination.js';
import { AppConfig } from '../../config/app-config.js';
import type { Connection } from './connection.entity.js';
import { ConnectionsService } from './connections.service.js';
import { PartnerCallsService } from './partner-calls.service.js';
import {
  ConnectionQueryDto,
  CreateConnectionDto,
  ReplaceCredentialsDto,
  RotateWebhookSecretDto,
  UpdateConnectionDto,
} from './dto/connection-requests.dto.js';
import {
  CheckOutcomeDto,
  ConnectionDto,
  ConnectionPageDto,
  CreatedConnectionDto,
  toCheckOutcomeDto,
  toConnectionDto,
  toWebhookSecretDto,
  WebhookSecretDto,
} from './dto/connection.dto.js';

const INVALID = {
  status: 422,
  description:
    'Config breaks the provider’s schema, credentials its types, or the provider is unknown (INVALID_CONNECTION, one { path, message } per problem in details)',
  type: ErrorBodyDto,
};
const NOT_FOUND = {
  status: 404,
  description: 'No such connection, or another account’s (CONNECTION_NOT_FOUND)',
  type: ErrorBodyDto,
};

/** Every account manages its own connections; operators and admins manage all of them. */
@ApiTags('connections')
@ApiStandardErrors()
@Controller('connections')
@Roles('viewer')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly calls: PartnerCallsService,
    private readonly config: AppConfig,
  ) {}

  private readonly toDto = (connection: Connection): ConnectionDto =>
    toConnectionDto(connection, this.config.publicUrl);

  @Post()
  @ApiOperation({
    summary: 'Create a connection to a provider; its credentials are sealed and never shown again',
  })
  @ApiCreatedResponse({ type: CreatedConnectionDto })
  @ApiResponse(INVALID)
  @ApiResponse({
    status: 409,
    description: 'The account has a connection of that name (CONNECTION_NAME_TAKEN)',
    type: ErrorBodyDto,
  })
  async create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateConnectionDto,
  ): Promise<CreatedConnectionDto> {
    const { connection, webhookSecret } = await this.connections.create(caller, body);
    return { ...this.toDto(connection), webhookSecret };
  }

  @Get()
  @ApiOperation({ summary: 'List connections, filtered by provider, account and state' })
  @ApiOkResponse({ type: ConnectionPageDto })
  async list(
    @CurrentPrincipal() caller: Principal,
    @Query() query: ConnectionQueryDto,
  ): Promise<ConnectionPageDto> {
    const { provider, accountId, state, ...page } = query;
    return mapPage(await this.connections.list(caller, { provider, accountId, state }, page), this.toDto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One connection, without its credentials' })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiResponse(NOT_FOUND)
  async get(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ConnectionDto> {
    return this.toDto(await this.connections.get(caller, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a connection or replace its config or settings' })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiResponse(INVALID)
  @ApiResponse(NOT_FOUND)
  async update(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateConnectionDto,
  ): Promise<ConnectionDto> {
    return this.toDto(await this.connections.update(caller, id, body));
  }

  @Put(':id/credentials')
  @ApiOperation({ summary: 'Replace the credentials' })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiResponse(INVALID)
  @ApiResponse(NOT_FOUND)
  async replaceCredentials(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ReplaceCredentialsDto,
  ): Promise<ConnectionDto> {
    return this.toDto(await this.connections.replaceCredentials(caller, id, body.credentials));
  }

  @Post(':id/test')
  @HttpCode(200)
  @ApiOperation({ summary: "Run the provider's check against the partner" })
  @ApiOkResponse({ type: CheckOutcomeDto })
  @ApiResponse(NOT_FOUND)
  async test(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<CheckOutcomeDto> {
    return toCheckOutcomeDto(await this.connections.test(caller, id, (c) => this.calls.opened(c)));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a connection: its jobs fail until it is resumed' })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiResponse(NOT_FOUND)
  async pause(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ConnectionDto> {
    return this.toDto(await this.connections.pause(caller, id));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused connection' })
  @ApiOkResponse({ type: ConnectionDto })
  @ApiResponse(NOT_FOUND)
  async resume(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ConnectionDto> {
    return this.toDto(await this.connections.resume(caller, id));
  }

  @Post(':id/webhook-secret')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Give the connection a new webhook secret, shown this once; each previous one verifies for 24 h from its rotation',
  })
  @ApiOkResponse({ type: WebhookSecretDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse({
    status: 409,
    description: 'The connection’s provider receives no webhooks (NO_WEBHOOKS)',
    type: ErrorBodyDto,
  })
  async rotateWebhookSecret(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RotateWebhookSecretDto = {},
  ): Promise<WebhookSecretDto> {
    const { connection, webhookSecret } = await this.connections.rotateWebhookSecret(
      caller,
      id,
      body?.secret,
    );
    return toWebhookSecretDto(connection, webhookSecret, this.config.publicUrl);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Delete a connection with its credentials and schedules; connections that copied into it (their settings’ storageConnectionId) stop naming it',
  })
  @ApiNoContentResponse()
  @ApiResponse(NOT_FOUND)
  async remove(@CurrentPrincipal() caller: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.connections.remove(caller, id);
  }
}
