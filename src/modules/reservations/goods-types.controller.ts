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
import { mapPage, PageQueryDto } from '../../common/pagination/pagination.js';
import { GoodsTypeDto, GoodsTypePageDto, toGoodsTypeDto } from './dto/goods.dto.js';
import { CreateGoodsTypeDto } from './dto/goods-requests.dto.js';
import { CatalogueService } from './catalogue.service.js';

@ApiTags('goods')
@ApiStandardErrors()
@Controller('goods-types')
export class GoodsTypesController {
  constructor(private readonly catalogue: CatalogueService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a goods type, such as a product, that goods and requests name by code (admin)',
  })
  @ApiCreatedResponse({ type: GoodsTypeDto })
  @ApiResponse({ status: 409, description: 'The code is taken (GOODS_TYPE_CODE_TAKEN)', type: ErrorBodyDto })
  async create(@Body() body: CreateGoodsTypeDto): Promise<GoodsTypeDto> {
    return toGoodsTypeDto(await this.catalogue.createGoodsType(body));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List goods types' })
  @ApiOkResponse({ type: GoodsTypePageDto })
  async list(@Query() query: PageQueryDto): Promise<GoodsTypePageDto> {
    return mapPage(await this.catalogue.listGoodsTypes(query), toGoodsTypeDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One goods type' })
  @ApiOkResponse({ type: GoodsTypeDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<GoodsTypeDto> {
    return toGoodsTypeDto(await this.catalogue.getGoodsType(id));
  }
}
