import { Body, Controller, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { ArrivalsDto, toArrivalsDto } from './dto/operation.dto.js';
import { CreateArrivalsDto } from './dto/operation-requests.dto.js';
import { OperationsService } from './operations.service.js';

@ApiTags('operations')
@ApiStandardErrors()
@Controller('arrivals')
export class ArrivalsController {
  constructor(private readonly operations: OperationsService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary:
      'Plan goods arriving at a location at a time (operator): each object gets a future avatar there, which can be reserved at once, and a planned arrival operation that the executor runs when due',
  })
  @ApiCreatedResponse({ type: ArrivalsDto })
  @ApiResponse({
    status: 422,
    description: 'No location or goods type has the code (UNKNOWN_LOCATION, UNKNOWN_GOODS_TYPE)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateArrivalsDto): Promise<ArrivalsDto> {
    const { location, dtExecution: at, goods } = body;
    return toArrivalsDto(await this.operations.planArrivals({ location, at, goods }));
  }
}
