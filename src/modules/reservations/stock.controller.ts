import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { StockDto, toStockDto } from './dto/goods.dto.js';
import { StockQueryDto } from './dto/goods-requests.dto.js';
import { GoodsService } from './goods.service.js';

@ApiTags('goods')
@ApiStandardErrors()
@Controller('stock')
export class StockController {
  constructor(private readonly goods: GoodsService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({
    summary:
      'Count the goods at a location (and the locations inside it), of a type, at a time: present, future and reserved',
  })
  @ApiOkResponse({ type: StockDto })
  @ApiResponse({
    status: 422,
    description: 'No goods type or location has the code (UNKNOWN_GOODS_TYPE, UNKNOWN_LOCATION)',
    type: ErrorBodyDto,
  })
  async get(@Query() query: StockQueryDto): Promise<StockDto> {
    return toStockDto(query, await this.goods.stock(query));
  }
}
