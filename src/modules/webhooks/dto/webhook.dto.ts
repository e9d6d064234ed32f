import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { DELIVERY_STATUSES } from '../webhook-delivery.entity.js';
import type { DeliveryStatus, WebhookDelivery } from '../webhook-delivery.entity.js';
import type { WebhookAttempt } from '../webhook-attempt.entity.js';
import type { DeliveryDetails } from '../webhook-deliveries.service.js';
import type { EndpointRecord, EndpointSecrets } from '../webhook-endpoints.service.js';

export class WebhookEndpointDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'https://orders.example.com/junction-hook' })
  url!: string;

  @ApiProperty({ example: ['order.*'] })
  eventPatterns!: string[];

  @ApiProperty({ type: Object, nullable: true, example: { 'data.total': { $gte: 100 } } })
  filter!: Record<string, unknown> | null;

  @ApiProperty({ type: String, nullable: true, example: 'The order service' })
  description!: string | null;

  @ApiProperty({
    example: ['authorization'],
    description: 'The names of its headers; values are never shown',
  })
  headerNames!: string[];

  @ApiProperty({ type: Object, nullable: true, example: { requests: 10, perMs: 1000 } })
  rateLimit!: { requests: number; perMs: number } | null;

  @ApiProperty({ example: false })
  ordered!: boolean;

  @ApiProperty({ example: true })
  enabled!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'https://orders.example.com/junction-hook answered 410 Gone',
    description: 'Why Junction disabled it',
  })
  disabledReason!: string | null;

  @ApiProperty({
    type: Date,
    nullable: true,
    example: '2026-12-01T10:00:00.000Z',
    description: 'The first failure since the last success',
  })
  failingSince!: Date | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  updatedAt!: Date;
}

export class WebhookEndpointPageDto extends PageDto(WebhookEndpointDto) {}

export class CreatedWebhookEndpointDto extends WebhookEndpointDto {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'The signing secret (Standard Webhooks); shown again only by GET /webhook-endpoints/{id}/secret',
  })
  secret!: string;
}

export class PreviousSecretDto {
  @ApiProperty({ example: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD' })
  secret!: string;

  @ApiProperty({ example: '2026-12-02T10:00:00.000Z', description: 'When it stops signing' })
  expiresAt!: string;
}

export class WebhookSecretDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })
  secret!: string;

  @ApiProperty({
    type: PreviousSecretDto,
    nullable: true,
    description: 'The secret before the last rotation, which signs beside this one for 24 hours',
  })
  previous!: PreviousSecretDto | null;

  @ApiProperty({
    type: PreviousSecretDto,
    isArray: true,
    description:
      'Every secret rotated out in the last 24 hours, newest first: each signs beside this one until it expires (at most 10)',
  })
  previousSecrets!: PreviousSecretDto[];
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  endpointId!: string;

  @ApiProperty({ format: 'uuid', description: 'The event, and the webhook-id header of every attempt' })
  eventId!: string;

  @ApiProperty({ example: 'order.created' })
  eventName!: string;

  @ApiProperty({ enum: DELIVERY_STATUSES, example: 'succeeded' })
  status!: DeliveryStatus;

  @ApiProperty({ example: 1, description: 'Attempts made, resends included' })
  attemptCount!: number;

  @ApiProperty({ type: Date, nullable: true, description: 'When the next attempt is due, while pending' })
  nextAttemptAt!: Date | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  lastError!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  updatedAt!: Date;
}

export class WebhookDeliveryPageDto extends PageDto(WebhookDeliveryDto) {}

export class WebhookAttemptDto {
  @ApiProperty({ example: 1 })
  attempt!: number;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: 'null when no answer came' })
  statusCode!: number | null;

  @ApiProperty({ example: 84 })
  durationMs!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '{"ok":true}',
    description: 'The first 1 KB of the response',
  })
  response!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  error!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  startedAt!: Date;
}

export class WebhookDeliveryDetailsDto extends WebhookDeliveryDto {
  @ApiProperty({
    description: 'The JSON sent',
    example: '{"type":"order.created","timestamp":"…","data":{}}',
  })
  body!: string;

  @ApiProperty({ type: WebhookAttemptDto, isArray: true })
  attempts!: WebhookAttemptDto[];
}

export class RecoveredDto {
  @ApiProperty({ example: 3, description: 'Failed deliveries sent again' })
  resent!: number;
}

export function toEndpointDto(record: EndpointRecord): WebhookEndpointDto {
  return {
    id: record.id,
    url: record.url,
    eventPatterns: record.eventPatterns,
    filter: record.filter,
    description: record.description,
    headerNames: record.headerNames,
    rateLimit: record.rateLimit,
    ordered: record.ordered,
    enabled: record.enabled,
    disabledReason: record.disabledReason,
    failingSince: record.failingSince,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function toCreatedEndpointDto(created: {
  endpoint: EndpointRecord;
  secret: string;
}): CreatedWebhookEndpointDto {
  return { ...toEndpointDto(created.endpoint), secret: created.secret };
}

export function toSecretDto(secrets: EndpointSecrets): WebhookSecretDto {
  return { secret: secrets.secret, previous: secrets.previous, previousSecrets: secrets.previousSecrets };
}

export function toDeliveryDto(delivery: WebhookDelivery): WebhookDeliveryDto {
  return {
    id: delivery.id,
    endpointId: delivery.endpointId,
    eventId: delivery.eventId,
    eventName: delivery.eventName,
    status: delivery.status,
    attemptCount: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}

function toAttemptDto(attempt: WebhookAttempt): WebhookAttemptDto {
  return {
    attempt: attempt.attempt,
    statusCode: attempt.statusCode,
    durationMs: attempt.durationMs,
    response: attempt.response,
    error: attempt.error,
    startedAt: attempt.startedAt,
  };
}

export function toDeliveryDetailsDto({ delivery, attempts }: DeliveryDetails): WebhookDeliveryDetailsDto {
  return { ...toDeliveryDto(delivery), body: delivery.body, attempts: attempts.map(toAttemptDto) };
}
