import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseArrayPipe,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import type { Page } from '../../common/pagination/pagination.js';
import {
  CreateFlavorDto,
  CreateServiceDto,
  FlavorBodyDto,
  PatchOperationDto,
  PurgeDto,
  ServiceActionDto,
  ServiceLimitDto,
} from './dto/provisioning-requests.dto.js';
import { ProvisioningService } from './provisioning.service.js';
import type { ProviderHealth, ServiceView } from './provisioning.service.js';
import type { Flavor } from './provisioning.store.js';

/** Services are listed ten at a time unless asked, at most twenty, like the seed. */
class ServicePageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 20, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  limit: number = 10;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

class JobStartedDto {
  @ApiProperty({ format: 'uuid', description: 'GET /jobs/{id} follows it' })
  jobId!: string;
}

const error = (status: number, description: string) => ({ status, description, type: ErrorBodyDto });
const SERVICE_SCHEMA = { schema: { type: 'object', additionalProperties: true } };

/** Flavors: which CDN providers and which DNS driver a service is deployed on (admins). */
@ApiTags('provisioning')
@ApiStandardErrors()
@Controller('flavors')
@Roles('admin')
export class FlavorsController {
  constructor(private readonly provisioning: ProvisioningService) {}

  @Get()
  @ApiOperation({ summary: 'List flavors' })
  list(): Promise<Flavor[]> {
    return this.provisioning.listFlavors();
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a flavor' })
  @ApiResponse(error(404, 'No such flavor (FLAVOR_NOT_FOUND)'))
  get(@Param('id') id: string): Promise<Flavor> {
    return this.provisioning.flavor(id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a flavor' })
  @ApiResponse(error(409, 'The id is taken (FLAVOR_TAKEN)'))
  @ApiResponse(error(422, 'A provider or connection that cannot serve (INVALID_FLAVOR)'))
  create(@Body() body: CreateFlavorDto): Promise<Flavor> {
    const { id, ...rest } = body;
    return this.provisioning.createFlavor(id, rest);
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace a flavor’s providers; services follow at their next update' })
  @ApiResponse(error(404, 'No such flavor (FLAVOR_NOT_FOUND)'))
  @ApiResponse(error(422, 'A provider or connection that cannot serve (INVALID_FLAVOR)'))
  replace(@Param('id') id: string, @Body() body: FlavorBodyDto): Promise<Flavor> {
    return this.provisioning.updateFlavor(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a flavor no service uses' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiResponse(error(409, 'Services use it (FLAVOR_IN_USE)'))
  async remove(@Param('id') id: string): Promise<void> {
    await this.provisioning.deleteFlavor(id);
  }
}

/**
 * A project's services: each change answers 202 at once and is carried out by a flow job. Any
 * member (or the project's token) manages them.
 */
@ApiTags('provisioning')
@ApiStandardErrors()
@Controller('projects/:id/services')
@Roles('viewer')
export class ServicesController {
  constructor(private readonly provisioning: ProvisioningService) {}

  @Get()
  @ApiOperation({ summary: 'The project’s services, 10 a page unless asked (at most 20)' })
  @ApiOkResponse({ schema: { type: 'object', properties: { items: { type: 'array' }, nextCursor: {} } } })
  list(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: ServicePageQueryDto,
  ): Promise<Page<ServiceView>> {
    return this.provisioning.list(caller, id, query.limit, query.cursor);
  }

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Ask for a service; the create flow deploys it at every provider of its flavor' })
  @ApiAcceptedResponse({
    description: 'Stored, with the create flow queued; Location names it',
    ...SERVICE_SCHEMA,
  })
  @ApiResponse(error(400, 'A field that does not validate (INVALID_SERVICE)'))
  @ApiResponse(error(403, 'The project holds its limit of services (LIMIT_REACHED)'))
  @ApiResponse(error(409, 'A domain another service has (DOMAIN_TAKEN), or the name (NAME_TAKEN)'))
  async create(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: CreateServiceDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ServiceView> {
    const service = await this.provisioning.create(caller, id, body);
    void reply.header('Location', `/projects/${id}/services/${service.id}`);
    return service;
  }

  @Get(':sid')
  @ApiOperation({ summary: 'A service, with each provider’s part and the status derived from them' })
  @ApiOkResponse(SERVICE_SCHEMA)
  @ApiResponse(error(404, 'No such service (SERVICE_NOT_FOUND)'))
  get(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('sid', ParseUUIDPipe) serviceId: string,
  ): Promise<ServiceView> {
    return this.provisioning.get(caller, id, serviceId);
  }

  @Patch(':sid')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Change a deployed or failed service with a JSON Patch of /domains, /origins, /caching, /restrictions, /logDelivery or /flavorId',
  })
  @ApiBody({ type: [PatchOperationDto] })
  @ApiAcceptedResponse({ description: 'Patched, with the update flow queued', ...SERVICE_SCHEMA })
  @ApiResponse(error(400, 'A path outside those allowed, or a result that does not validate'))
  @ApiResponse(error(409, 'The service is in progress or disabled (NOT_PATCHABLE), or a domain is taken'))
  patch(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('sid', ParseUUIDPipe) serviceId: string,
    @Body(new ParseArrayPipe({ items: PatchOperationDto, whitelist: true, forbidNonWhitelisted: true }))
    operations: PatchOperationDto[],
  ): Promise<ServiceView> {
    return this.provisioning.patch(caller, id, serviceId, operations);
  }

  @Delete(':sid')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete a service: the delete flow removes it at every provider, then here' })
  @ApiAcceptedResponse({ description: 'The delete flow is queued', ...SERVICE_SCHEMA })
  remove(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('sid', ParseUUIDPipe) serviceId: string,
  ): Promise<ServiceView> {
    return this.provisioning.remove(caller, id, serviceId);
  }

  @Post(':sid/purge')
  @HttpCode(202)
  @ApiOperation({ summary: 'Purge one URL, or everything, at every provider' })
  @ApiAcceptedResponse({ type: JobStartedDto })
  @ApiResponse(error(409, 'The service is being created or deleted (NOT_PURGEABLE)'))
  purge(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('sid', ParseUUIDPipe) serviceId: string,
    @Body() body: PurgeDto,
  ): Promise<JobStartedDto> {
    return this.provisioning.purge(caller, id, serviceId, body?.url ?? null);
  }
}

/** What admins set and do across projects. */
@ApiTags('provisioning')
@ApiStandardErrors()
@Controller()
@Roles('admin')
export class ServicesAdminController {
  constructor(private readonly provisioning: ProvisioningService) {}

  @Put('projects/:id/service-limit')
  @ApiOperation({ summary: 'Set how many services a project may hold (20 unless set)' })
  @ApiOkResponse({ type: ServiceLimitDto })
  setLimit(
    @CurrentPrincipal() caller: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ServiceLimitDto,
  ): Promise<{ projectId: string; maxServices: number }> {
    return this.provisioning.setLimit(caller, id, body.maxServices);
  }

  @Post('admin/services/actions')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Enable or disable a project’s services, or those listed, as a job; its result lists each that failed and why',
  })
  @ApiAcceptedResponse({ type: JobStartedDto })
  startAction(@Body() body: ServiceActionDto): Promise<JobStartedDto> {
    return this.provisioning.startAction(body);
  }
}

/** Whether the partners services depend on answer; `/health/ready` stays about Junction's own dependencies. */
@ApiTags('health')
@ApiStandardErrors()
@Controller('health')
@Roles('viewer')
export class ProvidersHealthController {
  constructor(private readonly provisioning: ProvisioningService) {}

  @Get('providers')
  @ApiOperation({ summary: 'Each flavor provider’s and DNS driver’s reachability, checked now' })
  @ApiOkResponse({ schema: { type: 'array', items: { type: 'object', additionalProperties: true } } })
  providers(): Promise<ProviderHealth[]> {
    return this.provisioning.health();
  }
}
