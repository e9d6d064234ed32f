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
import { LocationDto, LocationPageDto, toLocationDto } from './dto/goods.dto.js';
import { CreateLocationDto } from './dto/goods-requests.dto.js';
import { CatalogueService } from './catalogue.service.js';

@ApiTags('goods')
@ApiStandardErrors()
@Controller('locations')
export class LocationsController {
  constructor(private readonly catalogue: CatalogueService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a location, such as a warehouse or a shelf inside one (admin)' })
  @ApiCreatedResponse({ type: LocationDto })
  @ApiResponse({ status: 409, description: 'The code is taken (LOCATION_CODE_TAKEN)', type: ErrorBodyDto })
  @ApiResponse({
    status: 422,
    description: 'No location has the parent code (UNKNOWN_LOCATION)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateLocationDto): Promise<LocationDto> {
    return toLocationDto(await this.catalogue.createLocation(body));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List locations' })
  @ApiOkResponse({ type: LocationPageDto })
  async list(@Query() query: PageQueryDto): Promise<LocationPageDto> {
    return mapPage(await this.catalogue.listLocations(query), toLocationDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One location' })
  @ApiOkResponse({ type: LocationDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<LocationDto> {
    return toLocationDto(await this.catalogue.getLocation(id));
  }
}
