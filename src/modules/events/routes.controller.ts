import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
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
import { CreateRouteDto, toRouteChanges, toRouteSpec, UpdateRouteDto } from './dto/route-requests.dto.js';
import { RouteDto, toRouteDto } from './dto/route.dto.js';
import { RoutesService } from './routes.service.js';

@ApiTags('events')
@ApiStandardErrors()
@Controller('routes')
export class RoutesController {
  constructor(private readonly routes: RoutesService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'Every route: those declared in code, then those stored, by name' })
  @ApiOkResponse({ type: RouteDto, isArray: true })
  async list(): Promise<RouteDto[]> {
    return (await this.routes.list()).map(toRouteDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One route' })
  @ApiOkResponse({ type: RouteDto })
  async get(@Param('id') id: string): Promise<RouteDto> {
    return toRouteDto(await this.routes.get(id));
  }

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Add a route from events to jobs (admin)' })
  @ApiCreatedResponse({ type: RouteDto })
  @ApiResponse({
    status: 422,
    description:
      'Unknown job type, bad pattern, filter or template, or a fixed payload value the job type refuses (a connection or action that does not exist); details name each field',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateRouteDto): Promise<RouteDto> {
    return toRouteDto(await this.routes.create(toRouteSpec(body)));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Change a stored route; the fields given change (admin)' })
  @ApiOkResponse({ type: RouteDto })
  @ApiResponse({
    status: 422,
    description: 'The route would not work, as for POST /routes; details name each field',
    type: ErrorBodyDto,
  })
  async update(@Param('id') id: string, @Body() body: UpdateRouteDto): Promise<RouteDto> {
    return toRouteDto(await this.routes.update(id, toRouteChanges(body)));
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Remove a stored route (admin)' })
  @ApiNoContentResponse()
  async remove(@Param('id') id: string): Promise<void> {
    await this.routes.remove(id);
  }
}
