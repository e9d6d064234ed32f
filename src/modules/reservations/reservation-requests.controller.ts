import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { mapPage } from '../../common/pagination/pagination.js';
import {
  CreatedReservationRequestDto,
  ReservationRequestDetailDto,
  ReservationRequestPageDto,
  toCreatedReservationRequestDto,
  toReservationRequestDetailDto,
  toReservationRequestDto,
} from './dto/reservation-request.dto.js';
import { CreateReservationRequestDto, RequestQueryDto } from './dto/reservation-request-requests.dto.js';
import { ReservationRequestsService } from './reservation-requests.service.js';

@ApiTags('reservations')
@ApiStandardErrors()
@Controller('reservation-requests')
export class ReservationRequestsController {
  constructor(private readonly requests: ReservationRequestsService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary:
      'Request goods for a purpose (operator): queued at the end of its lane and served in order; a used idempotency key returns the first request',
  })
  @ApiCreatedResponse({ type: CreatedReservationRequestDto })
  @ApiResponse({
    status: 422,
    description:
      'No planner plans the purpose type, or its planner finds the purpose wrong (INVALID_PURPOSE; details list the problems), or no goods type has an item’s code (UNKNOWN_GOODS_TYPE)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateReservationRequestDto): Promise<CreatedReservationRequestDto> {
    return toCreatedReservationRequestDto(await this.requests.create(body));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List reservation requests, filtered by status and lane, oldest first' })
  @ApiOkResponse({ type: ReservationRequestPageDto })
  async list(@Query() query: RequestQueryDto): Promise<ReservationRequestPageDto> {
    const { status, lane, ...page } = query;
    return mapPage(await this.requests.list({ status, lane }, page), toReservationRequestDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One reservation request, with its items and the goods reserved for it' })
  @ApiOkResponse({ type: ReservationRequestDetailDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<ReservationRequestDetailDto> {
    return toReservationRequestDetailDto(await this.requests.get(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Cancel a request that is not finished (operator): its planned operations are cancelled and its goods released',
  })
  @ApiOkResponse({ type: ReservationRequestDetailDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({
    status: 409,
    description: 'The request is done or cancelled already (REQUEST_FINISHED)',
    type: ErrorBodyDto,
  })
  async cancel(@Param('id', ParseUUIDPipe) id: string): Promise<ReservationRequestDetailDto> {
    return toReservationRequestDetailDto(await this.requests.cancel(id));
  }
}
