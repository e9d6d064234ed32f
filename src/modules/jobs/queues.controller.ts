import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../../common/auth/roles.js';
import { MetricsRegistry } from '../../common/metrics-registry.js';
import { ApiStandardErrors } from '../../common/errors/error-body.dto.js';
import { QueueStatsDto, toQueueStatsDto } from './dto/job.dto.js';
import { JobsService } from './jobs.service.js';

@ApiTags('jobs')
@ApiStandardErrors()
@Controller()
export class QueuesController {
  constructor(
    private readonly jobs: JobsService,
    private readonly metrics: MetricsRegistry,
  ) {}

  @Get('queues')
  @Roles('viewer')
  @ApiOperation({
    summary: 'Each queue: jobs per state, running, age of the oldest due job, successes in the last minute',
  })
  @ApiOkResponse({ type: QueueStatsDto, isArray: true })
  async queues(): Promise<QueueStatsDto[]> {
    return (await this.jobs.queueStats()).map(toQueueStatsDto);
  }

  @Get('metrics')
  @Roles('viewer')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'Prometheus metrics: jobs by type and state, attempt durations, queue depth, oldest queued age, partner calls, connections by state',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format', schema: { type: 'string' } })
  async prometheus(@Res() response: FastifyReply): Promise<void> {
    const body = await this.metrics.render();
    response.type(this.metrics.contentType).send(body);
  }
}
