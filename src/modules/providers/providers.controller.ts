import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { ProviderDto, toProviderDto } from './dto/provider.dto.js';
import { ProvidersService } from './providers.service.js';

@ApiTags('providers')
@ApiStandardErrors()
@Controller('providers')
export class ProvidersController {
  constructor(private readonly providers: ProvidersService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({
    summary: 'List the providers, with their config schemas, credential types and capabilities',
  })
  @ApiOkResponse({ type: ProviderDto, isArray: true })
  list(): ProviderDto[] {
    return this.providers.list().map(toProviderDto);
  }

  @Get(':key')
  @Roles('viewer')
  @ApiOperation({ summary: 'One provider' })
  @ApiOkResponse({ type: ProviderDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No provider has the key (PROVIDER_NOT_FOUND)' })
  get(@Param('key') key: string): ProviderDto {
    return toProviderDto(this.providers.get(key));
  }
}
