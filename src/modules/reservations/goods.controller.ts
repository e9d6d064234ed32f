import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
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
  CreatedGoodsDto,
  GoodsDetailDto,
  GoodsPageDto,
  toCreatedGoodsDto,
  toGoodsDetailDto,
  toGoodsDto,
} from './dto/goods.dto.js';
import { CreateGoodsDto, GoodsQueryDto } from './dto/goods-requests.dto.js';
import { GoodsService } from './goods.service.js';

@ApiTags('goods')
@ApiStandardErrors()
@Controller('goods')
export class GoodsController {
  constructor(private readonly goods: GoodsService) {}

  @Post()
  @Roles('operator')
  @ApiOperation({
    summary:
      'Enter goods present at a location from now on, such as stock counted on the shelf (operator); requests waiting for the type are served next',
  })
  @ApiCreatedResponse({ type: CreatedGoodsDto })
  @ApiResponse({
    status: 422,
    description: 'No goods type or location has the code (UNKNOWN_GOODS_TYPE, UNKNOWN_LOCATION)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateGoodsDto): Promise<CreatedGoodsDto> {
    return toCreatedGoodsDto(await this.goods.enterGoods(body));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List goods, filtered by type and by the location they are at or due at' })
  @ApiOkResponse({ type: GoodsPageDto })
  @ApiResponse({
    status: 422,
    description: 'No goods type or location has the code (UNKNOWN_GOODS_TYPE, UNKNOWN_LOCATION)',
    type: ErrorBodyDto,
  })
  async list(@Query() query: GoodsQueryDto): Promise<GoodsPageDto> {
    const { goodsType, location, ...page } = query;
    return mapPage(await this.goods.listGoods({ goodsType, location }, page), toGoodsDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One object, with where it was, is and will be (its avatars)' })
  @ApiOkResponse({ type: GoodsDetailDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<GoodsDetailDto> {
    return toGoodsDetailDto(await this.goods.getGoods(id));
  }
}
