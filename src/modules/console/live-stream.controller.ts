import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPrincipal } from '../../common/auth/principal.js';
import type { Principal } from '../../common/auth/principal.js';
import { Roles } from '../../common/auth/roles.js';
import { ApiStandardErrors, ErrorBodyDto } from '../../common/errors/error-body.dto.js';
import { LiveStreamService, STREAM_TOPICS } from './live-stream.service.js';

@ApiTags('console')
@ApiStandardErrors()
@Controller('stream')
export class LiveStreamController {
  constructor(private readonly streams: LiveStreamService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({
    summary: 'Committed changes as they happen (server-sent events), by topic',
    description:
      'Each message is `event: <topic>` with the changed item as JSON `data`: `jobs` (id, type, queue, status, ' +
      'attempt), `sync-runs` (the run with its counters and accountId; an account sees its own unless operator), ' +
      '`deliveries` (admin: a webhook delivery after an attempt). The first message is `event: ready`. Changes ' +
      'made while a client was disconnected are not replayed: read the API again after reconnecting.',
  })
  @ApiQuery({
    name: 'topics',
    required: false,
    description: `Comma-separated, of ${Object.keys(STREAM_TOPICS).join(', ')}; default: every topic the caller may read`,
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'The stream, open until the client leaves' })
  @ApiResponse({ status: 400, description: 'An unknown topic', type: ErrorBodyDto })
  @ApiResponse({ status: 403, description: 'A topic the caller’s role may not read', type: ErrorBodyDto })
  stream(
    @CurrentPrincipal() caller: Principal,
    @Query('topics') asked: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    const topics = this.streams.topicsFor(caller, typeof asked === 'string' ? asked : undefined);
    // From here the response is written by hand, kept open as long as the client stays.
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    const { stop } = this.streams.start(caller, topics, {
      send: (message) => void raw.write(message),
      end: () => raw.end(),
    });
    request.raw.on('close', stop);
  }
}
