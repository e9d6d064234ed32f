import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import {
  toDeliveryDetailsDto,
  toDeliveryDto,
  WebhookDeliveryDetailsDto,
  WebhookDeliveryDto,
} from './dto/webhook.dto.js';
import { WebhookDeliveriesService } from './webhook-deliveries.service.js';

const NOT_FOUND = { status: 404, description: 'No such delivery (DELIVERY_NOT_FOUND)', type: ErrorBodyDto };

/** One delivery of an event to an endpoint, with every attempt. */
@ApiTags('webhooks')
@ApiStandardErrors()
@Controller('webhook-deliveries')
@Roles('admin')
export class WebhookDeliveriesController {
  constructor(private readonly deliveries: WebhookDeliveriesService) {}

  @Get(':id')
  @ApiOperation({ summary: 'A delivery, its body and its attempts' })
  @ApiOkResponse({ type: WebhookDeliveryDetailsDto })
  @ApiResponse(NOT_FOUND)
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookDeliveryDetailsDto> {
    return toDeliveryDetailsDto(await this.deliveries.get(id));
  }

  @Post(':id/resend')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a finished delivery once more, with the same webhook-id and body' })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  @ApiResponse(NOT_FOUND)
  @ApiResponse({
    status: 409,
    description: 'Still pending (DELIVERY_PENDING), or its endpoint is disabled (ENDPOINT_DISABLED)',
    type: ErrorBodyDto,
  })
  async resend(@Param('id', ParseUUIDPipe) id: string): Promise<WebhookDeliveryDto> {
    return toDeliveryDto(await this.deliveries.resend(id));
  }
}
