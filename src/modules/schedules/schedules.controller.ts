import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { mapPage, PageQueryDto } from '../../common/pagination/pagination.js';
import {
  SchedulePageDto,
  ScheduleDto,
  toScheduleDto,
  toTriggerResultDto,
  TriggerResultDto,
} from './dto/schedule.dto.js';
import { CreateScheduleDto, UpdateScheduleDto } from './dto/schedule-requests.dto.js';
import { SchedulesService } from './schedules.service.js';

@ApiTags('schedules')
@ApiStandardErrors()
@Controller('schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create a schedule that enqueues a job on a cron in a time zone (admin)' })
  @ApiCreatedResponse({ type: ScheduleDto })
  @ApiResponse({ status: 409, description: 'The name is taken', type: ErrorBodyDto })
  @ApiResponse({
    status: 422,
    description:
      'Invalid cron, time zone or payload (details name the field), or no handler for the job type',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateScheduleDto): Promise<ScheduleDto> {
    return toScheduleDto(await this.schedules.create(body));
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List schedules, the built-in ones included' })
  @ApiOkResponse({ type: SchedulePageDto })
  async list(@Query() query: PageQueryDto): Promise<SchedulePageDto> {
    return mapPage(await this.schedules.list(query), toScheduleDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One schedule, with its last and next firing' })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<ScheduleDto> {
    return toScheduleDto(await this.schedules.get(id));
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({
    summary: 'Change some fields (admin); a new cron, time zone or enabled recomputes nextFireAt',
  })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({
    status: 409,
    description: 'The name is taken, or a built-in schedule’s fixed field would change',
    type: ErrorBodyDto,
  })
  @ApiResponse({
    status: 422,
    description: 'Invalid cron, time zone, payload or job type',
    type: ErrorBodyDto,
  })
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateScheduleDto,
  ): Promise<ScheduleDto> {
    return toScheduleDto(await this.schedules.update(id, body));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a schedule (admin); jobs it enqueued stay' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 409, description: 'The schedule is built in', type: ErrorBodyDto })
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.schedules.remove(id);
  }

  @Post(':id/trigger')
  @Roles('operator')
  @ApiOperation({ summary: 'Enqueue the schedule’s job now, paused or not (operator)' })
  @ApiCreatedResponse({ type: TriggerResultDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 422, description: 'No handler for the job type', type: ErrorBodyDto })
  async trigger(@Param('id', ParseUUIDPipe) id: string): Promise<TriggerResultDto> {
    return toTriggerResultDto(await this.schedules.trigger(id));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Stop firing (operator); slots passed while paused are not caught up' })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async pause(@Param('id', ParseUUIDPipe) id: string): Promise<ScheduleDto> {
    return toScheduleDto(await this.schedules.pause(id));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Fire again from the next slot after now (operator)' })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async resume(@Param('id', ParseUUIDPipe) id: string): Promise<ScheduleDto> {
    return toScheduleDto(await this.schedules.resume(id));
  }
}
