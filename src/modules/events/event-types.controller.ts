import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { PutEventTypeDto } from './dto/event-type-requests.dto.js';
import { EventTypeDto, toEventTypeDto } from './dto/event-type.dto.js';
import { EventTypesService } from './event-types.service.js';

@ApiTags('events')
@ApiStandardErrors()
@Controller('event-types')
export class EventTypesController {
  constructor(private readonly types: EventTypesService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({
    summary: 'Every declared event type and every name seen, with counts and the last time seen',
  })
  @ApiOkResponse({ type: EventTypeDto, isArray: true })
  async list(): Promise<EventTypeDto[]> {
    return (await this.types.list()).map(toEventTypeDto);
  }

  @Get(':name')
  @Roles('viewer')
  @ApiOperation({ summary: 'One event type or seen name' })
  @ApiOkResponse({ type: EventTypeDto })
  async get(@Param('name') name: string): Promise<EventTypeDto> {
    return toEventTypeDto(await this.types.get(name));
  }

  @Put(':name')
  @Roles('admin')
  @ApiOperation({ summary: 'Declare or replace the schema that events of this name must match (admin)' })
  @ApiOkResponse({ type: EventTypeDto })
  @ApiResponse({ status: 422, description: 'The schema is not a valid JSON Schema', type: ErrorBodyDto })
  async put(@Param('name') name: string, @Body() body: PutEventTypeDto): Promise<EventTypeDto> {
    await this.types.put(name, body.schema, body.description);
    return toEventTypeDto(await this.types.get(name));
  }

  @Delete(':name')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Remove the schema: events of this name are no longer checked (admin)' })
  @ApiNoContentResponse()
  async remove(@Param('name') name: string): Promise<void> {
    await this.types.remove(name);
  }
}
