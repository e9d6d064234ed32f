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
import { OperationDto, OperationPageDto, toOperationDto } from './dto/operation.dto.js';
import { CreateOperationDto, OperationQueryDto } from './dto/operation-requests.dto.js';
import { OperationsService } from './operations.service.js';

@ApiTags('operations')
@ApiStandardErrors()
@Controller('operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary:
      'Plan a move, departure or unpack of goods outside any request (operator), after the operations already planned for them',
  })
  @ApiCreatedResponse({ type: OperationDto })
  @ApiNotFoundResponse({ description: 'No goods have the id (GOODS_NOT_FOUND)', type: ErrorBodyDto })
  @ApiResponse({
    status: 409,
    description:
      'The goods are reserved by a request, and only the planner holding that request’s claim may plan operations on them (GOODS_RESERVED); or they have left or are planned to leave (GOODS_GONE)',
    type: ErrorBodyDto,
  })
  @ApiResponse({
    status: 422,
    description:
      'A move without a location or an unpack without contents (INVALID_OPERATION), or no location or goods type has the code (UNKNOWN_LOCATION, UNKNOWN_GOODS_TYPE)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateOperationDto): Promise<OperationDto> {
    const { type, goods, location, contents, dtExecution: at } = body;
    return toOperationDto(await this.operations.plan({ type, goods, location, contents, at }));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List operations, filtered by state, type, request and goods' })
  @ApiOkResponse({ type: OperationPageDto })
  async list(@Query() query: OperationQueryDto): Promise<OperationPageDto> {
    const { state, type, request, goods, ...page } = query;
    return mapPage(await this.operations.list({ state, type, request, goods }, page), toOperationDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One operation, with the avatars it consumes and produces' })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<OperationDto> {
    return toOperationDto(await this.operations.get(id));
  }

  @Post(':id/execute')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Execute an operation now, whatever its planned time (operator): its input becomes past and its outcomes present; executing a done operation again changes nothing',
  })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({
    status: 409,
    description:
      'Its input is not present yet, as an earlier operation is not done (OPERATION_NOT_READY), or it is cancelled (OPERATION_CANCELLED)',
    type: ErrorBodyDto,
  })
  async execute(@Param('id', ParseUUIDPipe) id: string): Promise<OperationDto> {
    return toOperationDto(await this.operations.execute(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Cancel a planned operation and the planned operations that follow from it (operator): its input is free again and its outcomes are dropped; cancelling again changes nothing',
  })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({
    status: 409,
    description:
      'It, or one that follows from it, is no longer planned (OPERATION_NOT_PLANNED); or it would take goods from a request: an arrival of reserved goods, or another request’s operation (GOODS_RESERVED; cancel the request instead)',
    type: ErrorBodyDto,
  })
  async cancel(@Param('id', ParseUUIDPipe) id: string): Promise<OperationDto> {
    return toOperationDto(await this.operations.cancel(id));
  }
}
