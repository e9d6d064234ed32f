import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { mapPage, PageQueryDto } from '../../common/pagination/pagination.js';
import { ApiKeysService } from './api-keys.service.js';
import { CreateApiKeyDto } from './dto/api-key-requests.dto.js';
import { ApiKeyDto, ApiKeyPageDto, CreatedApiKeyDto, toApiKeyDto } from './dto/api-key.dto.js';

@ApiTags('accounts')
@ApiStandardErrors()
@ApiNotFoundResponse({ description: 'No such account or key', type: ErrorBodyDto })
@Controller('accounts/:accountId/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key; the response holds the key, shown only this once (admin, or own account)',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async create(
    @CurrentPrincipal() caller: Principal,
    @Param('accountId', ParseUUIDPipe) accountId: string,
    @Body() body: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const { apiKey, key } = await this.apiKeys.create(caller, accountId, body);
    return { ...toApiKeyDto(apiKey), key };
  }

  @Get()
  @ApiOperation({ summary: "List an account's API keys, without secrets (admin, or own account)" })
  @ApiOkResponse({ type: ApiKeyPageDto })
  async list(
    @CurrentPrincipal() caller: Principal,
    @Param('accountId', ParseUUIDPipe) accountId: string,
    @Query() page: PageQueryDto,
  ): Promise<ApiKeyPageDto> {
    return mapPage(await this.apiKeys.list(caller, accountId, page), toApiKeyDto);
  }

  @Delete(':keyId')
  @ApiOperation({ summary: 'Revoke an API key at once (admin, or own account)' })
  @ApiOkResponse({ type: ApiKeyDto })
  async revoke(
    @CurrentPrincipal() caller: Principal,
    @Param('accountId', ParseUUIDPipe) accountId: string,
    @Param('keyId', ParseUUIDPipe) keyId: string,
  ): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.revoke(caller, accountId, keyId));
  }
}
