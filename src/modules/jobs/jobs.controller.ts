import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
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
  JobDetailsDto,
  JobDto,
  JobPageDto,
  PurgeResultDto,
  RetryResultDto,
  toJobDetailsDto,
  toJobDto,
} from './dto/job.dto.js';
import { CreateJobDto, JobQueryDto, PurgeJobsQueryDto, RetryJobsDto } from './dto/job-requests.dto.js';
import { JobsService } from './jobs.service.js';

@ApiTags('jobs')
@ApiStandardErrors()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'List jobs, filtered by status, type, queue and creation time' })
  @ApiOkResponse({ type: JobPageDto })
  async list(@Query() query: JobQueryDto): Promise<JobPageDto> {
    const { status, type, queue, from, to, ...page } = query;
    return mapPage(await this.jobs.list({ status, type, queue, from, to }, page), toJobDto);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One job with its attempts, completed steps, log and result' })
  @ApiOkResponse({ type: JobDetailsDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<JobDetailsDto> {
    return toJobDetailsDto(await this.jobs.get(id));
  }

  @Post()
  @Roles('operator')
  @ApiOperation({ summary: 'Enqueue a job of a registered type (operator)' })
  @ApiCreatedResponse({
    type: JobDto,
    description: 'The new job, or the existing one with the same idempotency key',
  })
  @ApiResponse({
    status: 422,
    description: 'No handler for this type, or a payload its check refuses (an action the connection lacks)',
    type: ErrorBodyDto,
  })
  async create(@Body() body: CreateJobDto): Promise<JobDto> {
    const { type, payload, ...options } = body;
    return toJobDto(await this.jobs.submit(type, payload, options));
  }

  @Post('retry')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Run again now every dead, failed or cancelled job matching a filter, as one retry each would (operator)',
  })
  @ApiOkResponse({ type: RetryResultDto })
  async retryMatching(@Body() body: RetryJobsDto): Promise<RetryResultDto> {
    return { retried: await this.jobs.retryMatching(body.filter) };
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Run a dead, failed or cancelled job again now (operator)' })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 409, description: 'The job is queued, running or succeeded', type: ErrorBodyDto })
  async retry(@Param('id', ParseUUIDPipe) id: string): Promise<JobDto> {
    return toJobDto(await this.jobs.retry(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Cancel an unfinished job (operator); a running one has its signal aborted and its result is not recorded',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiResponse({ status: 409, description: 'The job has already finished', type: ErrorBodyDto })
  async cancel(@Param('id', ParseUUIDPipe) id: string): Promise<JobDto> {
    return toJobDto(await this.jobs.cancel(id));
  }

  @Delete()
  @Roles('operator')
  @ApiOperation({
    summary: 'Delete succeeded, dead and cancelled jobs that finished before a time (operator)',
  })
  @ApiOkResponse({ type: PurgeResultDto })
  async purge(@Query() query: PurgeJobsQueryDto): Promise<PurgeResultDto> {
    return { deleted: await this.jobs.purge(query.before) };
  }
}
