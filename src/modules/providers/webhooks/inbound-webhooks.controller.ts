import { Controller, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../../common/auth/roles.js';
import { ErrorBodyDto } from '../../../common/errors/error-body.dto.js';
import { InboundWebhooksService } from './inbound-webhooks.service.js';

class ReceivedWebhookDto {
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'The stored event; null when ignored',
  })
  eventId!: string | null;

  @ApiProperty({
    example: false,
    description: 'True when this delivery id was received before: nothing new is stored',
  })
  duplicate!: boolean;

  @ApiProperty({
    required: false,
    example: 'ping',
    description: 'Why a verified message was not stored (a ping)',
  })
  ignored?: string;
}

const error = (status: number, description: string) => ({ status, description, type: ErrorBodyDto });

/** Where partners push: public, trusting only the signature the connection's provider verifies. */
@ApiTags('webhooks')
@Public()
@Controller('webhooks')
export class InboundWebhooksController {
  constructor(private readonly webhooks: InboundWebhooksService) {}

  @Post(':connectionId')
  @ApiOperation({
    summary:
      'Receive a signed webhook for a connection (no API key: the signature is checked on the raw body)',
  })
  @ApiResponse({ status: 202, description: 'Verified and stored as an event', type: ReceivedWebhookDto })
  @ApiOkResponse({
    description: 'A redelivery (duplicate: true), or a ping (ignored)',
    type: ReceivedWebhookDto,
  })
  @ApiResponse(error(400, 'The body is not JSON or a form (WEBHOOK_BODY_UNREADABLE)'))
  @ApiResponse(
    error(
      401,
      'The signature (or the ?token= of a sender that cannot sign) is missing, wrong or stale (WEBHOOK_SIGNATURE_INVALID)',
    ),
  )
  @ApiResponse(error(404, 'No connection of that id receives webhooks (WEBHOOK_NOT_FOUND)'))
  @ApiResponse(error(409, 'The connection is paused (WEBHOOK_CONNECTION_PAUSED)'))
  @ApiResponse(error(413, 'The body is over BODY_LIMIT'))
  @ApiResponse(error(429, 'Over the connection’s inbound limit; see Retry-After (WEBHOOK_RATE_LIMITED)'))
  async receive(
    // Not checked here: a malformed id is answered 404 as an unknown one is, by the service.
    @Param('connectionId') connectionId: string,
    @Req() request: FastifyRequest & { rawBody?: Buffer },
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReceivedWebhookDto> {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const query: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      const first: unknown = Array.isArray(value) ? value[0] : value;
      if (typeof first === 'string') query[name] = first;
    }
    const { status, ...body } = await this.webhooks.receive(connectionId, {
      headers,
      query,
      rawBody: rawBodyOf(request),
      contentType: (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase(),
    });
    void reply.status(status);
    return body;
  }
}

/**
 * The exact bytes received. app.ts captures the body of this route whatever its media type; only a
 * request that declares no body (no content type, no length) has none, and its body is empty.
 * Anything else would be verified against bytes that were not received: an error, never a guess.
 */
function rawBodyOf(request: FastifyRequest & { rawBody?: Buffer }): Buffer {
  if (request.rawBody) return request.rawBody;
  const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
  if (encoding === undefined && (length === undefined || length === '0')) return Buffer.alloc(0);
  throw new Error(`the body of ${request.method} ${request.url} was not captured`);
}
