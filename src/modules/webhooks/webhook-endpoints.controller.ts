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
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { mapPage, PageQueryDto } from '../../common/pagination/pagination.js';
import {
  CreateWebhookEndpointDto,
  DeliveryQueryDto,
  RecoverDto,
  toEndpointChanges,
  toEndpointSpec,
  UpdateWebhookEndpointDto,
} from './dto/webhook-requests.dto.js';
import {
  CreatedWebhookEndpointDto,
  RecoveredDto,
  toCreatedEndpointDto,
  toDeliveryDto,
  toEndpointDto,
  toSecretDto,
  WebhookDeliveryPageDto,
  WebhookEndpointDto,
  WebhookEndpointPageDto,
  WebhookSecretDto,
} from './dto/webhook.dto.js';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

const INVALID = {
  status: 422,
  description:
    'The url is not http(s), a pattern is not one, the filter is not a query, or a header is reserved (INVALID_ENDPOINT, one { field, problems } per field in details)',
  type: ErrorBodyDto,
};
const NOT_FOUND = { status: 404, description: 'No such endpoint (ENDPOINT_NOT_FOUND)', type: ErrorBodyDto };

/** Outbound webhooks: admins point Junction's events at their own services. */
@ApiTags('webhooks')
@ApiStandardErrors()
@Controller('webhook-endpoints')
@Roles('admin')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly deliveries: WebhookDeliveriesService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Subscribe a URL to events; the answer carries its signing secret' })
  @ApiCreatedResponse({ type: CreatedWebhookEndpointDto })
  @ApiResponse(INVALID)
  async create(@Body() body: CreateWebhookEndpointDto): Promise<CreatedWebhookEndpointDto> {
    return toCreatedEndpointDto(await this.endpoints.create(toEndpointSpec(body)));
  }

  @Get()
  @ApiOperation({ summary: 'List endpoints, without their secrets or header values' })
  @ApiOkResponse({ type: WebhookEndpointPageDto })
  async list(@Query() page: PageQueryDto): Promise<WebhookEndpointPageDto> {
    return mapPage(await this.endpoints.list(page), toEndpointDto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One endpoint' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiResponse(NOT_FOUND)
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookEndpointDto> {
    return toEndpointDto(await this.endpoints.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change an endpoint; enabled: true turns a disabled one back on' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiResponse(INVALID)
  @ApiResponse(NOT_FOUND)
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointDto> {
    return toEndpointDto(await this.endpoints.update(id, toEndpointChanges(body)));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an endpoint and its deliveries' })
  @ApiNoContentResponse()
  @ApiResponse(NOT_FOUND)
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.endpoints.remove(id);
  }

  @Get(':id/secret')
  @ApiOperation({ summary: 'The signing secret, and the previous ones while they still sign' })
  @ApiOkResponse({ type: WebhookSecretDto })
  @ApiResponse(NOT_FOUND)
  async secret(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookSecretDto> {
    return toSecretDto(await this.endpoints.secrets(id));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A new signing secret; the old ones keep signing beside it for 24 hours from their rotation',
  })
  @ApiOkResponse({ type: WebhookSecretDto })
  @ApiResponse(NOT_FOUND)
  async rotateSecret(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookSecretDto> {
    return toSecretDto(await this.endpoints.rotateSecret(id));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'The deliveries to an endpoint, oldest first, by status' })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiResponse(NOT_FOUND)
  async deliveriesOf(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: DeliveryQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    const { status, ...page } = query;
    return mapPage(await this.deliveries.list(id, status, page), toDeliveryDto);
  }

  @Post(':id/recover')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send again, once each, every delivery that failed since a time' })
  @ApiOkResponse({ type: RecoveredDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse({
    status: 409,
    description: 'The endpoint is disabled (ENDPOINT_DISABLED)',
    type: ErrorBodyDto,
  })
  async recover(@Param('id', ParseUUIDPipe) id: string, @Body() body: RecoverDto): Promise<RecoveredDto> {
    return this.deliveries.recover(id, body.since);
  }
}
