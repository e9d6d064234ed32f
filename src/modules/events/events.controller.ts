import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { mapPage } from '../../common/pagination/pagination.js';
import {
  CreateEventBatchDto,
  CreateEventDto,
  EventQueryDto,
  ReplayEventsDto,
} from './dto/event-requests.dto.js';
import {
  BatchResultDto,
  EventDetailsDto,
  EventPageDto,
  IngestedDto,
  ReplayedDto,
  ReplayStartedDto,
  toBatchResultDto,
  toEventDetailsDto,
  toEventDto,
  toIngestedDto,
} from './dto/event.dto.js';
import { EventIntakeService } from './event-intake.service.js';
import { EventReplayService } from './event-replay.service.js';
import { EventsService } from './events.service.js';

@ApiTags('events')
@ApiStandardErrors()
@Controller('events')
export class EventsController {
  constructor(
    private readonly intake: EventIntakeService,
    private readonly replays: EventReplayService,
    private readonly events: EventsService,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({
    summary: 'Post an event: it is stored with one job per matching route, in one transaction',
  })
  @ApiAcceptedResponse({ type: IngestedDto })
  @ApiResponse({
    status: 422,
    description: 'The data breaks the event type schema (details list each violation), or is too large',
    type: ErrorBodyDto,
  })
  async post(@Body() body: CreateEventDto, @CurrentPrincipal() principal: Principal): Promise<IngestedDto> {
    return toIngestedDto(await this.intake.ingest(body, principal.accountId));
  }

  @Post('batch')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Post up to 500 events; each item reports its own result' })
  @ApiOkResponse({ type: BatchResultDto })
  async postBatch(
    @Body() body: CreateEventBatchDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BatchResultDto> {
    return toBatchResultDto(await this.intake.ingestBatch(body.events, principal.accountId));
  }

  @Post('replay')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({
    summary: 'Replay every event of a name pattern received in [from, to), as a job that reports progress',
  })
  @ApiAcceptedResponse({ type: ReplayStartedDto })
  async replayMany(@Body() body: ReplayEventsDto): Promise<ReplayStartedDto> {
    return { jobId: (await this.replays.replayMany(body)).id };
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List events, filtered by name (or pattern), source and time received' })
  @ApiOkResponse({ type: EventPageDto })
  async list(@Query() query: EventQueryDto): Promise<EventPageDto> {
    const { name, source, from, to, ...page } = query;
    return mapPage(await this.events.list({ name, source, from, to }, page), toEventDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One event with the jobs it started and their states' })
  @ApiOkResponse({ type: EventDetailsDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<EventDetailsDto> {
    return toEventDetailsDto(await this.events.get(id));
  }

  @Post(':id/replay')
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({ summary: 'Route the event again now with the current routes: new jobs, linked to it' })
  @ApiAcceptedResponse({ type: ReplayedDto })
  async replay(@Param('id', ParseUUIDPipe) id: string): Promise<ReplayedDto> {
    const { event, jobs } = await this.replays.replay(id);
    return { eventId: event.id, jobIds: jobs.map((job) => job.id) };
  }
}
