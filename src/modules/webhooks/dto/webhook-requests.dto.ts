import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';
import { DELIVERY_STATUSES } from '../webhook-delivery.entity.js';
import type { DeliveryStatus } from '../webhook-delivery.entity.js';
import type { EndpointSpec } from '../webhook-endpoints.service.js';

/**
 * Validated whenever present: absent keeps the default (or, in a PATCH, the current value), and
 * null is refused for a setting that has no empty value, where `@IsOptional` would let it through.
 */
function IfGiven(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

export class WebhookRateLimitDto {
  @ApiProperty({ example: 10, minimum: 1 })
  @IsInt()
  @Min(1)
  @Max(100_000)
  requests!: number;

  @ApiProperty({ example: 1000, minimum: 1, description: 'Rounded up to whole seconds' })
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  perMs!: number;
}

export class CreateWebhookEndpointDto {
  @ApiProperty({ example: 'https://orders.example.com/junction-hook', description: 'http or https' })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiProperty({
    example: ['order.*'],
    description: 'Event-name globs, as routes have: * is one segment, ** one or more',
  })
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  eventPatterns!: string[];

  @ApiPropertyOptional({
    example: { 'data.total': { $gte: 100 } },
    description: 'A MongoDB-style query over the event, as route filters; only events it matches are sent',
  })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'The order service', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({
    example: { authorization: 'Bearer receiver-token' },
    description: 'Sent with every delivery; sealed at rest, and shown only by name',
  })
  @IfGiven()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    type: WebhookRateLimitDto,
    nullable: true,
    description:
      'At most this many requests per perMs to this endpoint, across processes; a delivery over it waits without spending an attempt',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => WebhookRateLimitDto)
  rateLimit?: WebhookRateLimitDto | null;

  @ApiPropertyOptional({
    example: false,
    default: false,
    description: 'Deliveries run one at a time, in event order; a failing one holds back the rest',
  })
  @IfGiven()
  @IsBoolean()
  ordered?: boolean;

  @ApiPropertyOptional({ example: true, default: true })
  @IfGiven()
  @IsBoolean()
  enabled?: boolean;
}

/** Any of the fields; `filter`, `description` and `rateLimit` take null to remove them, the others no null. */
export class UpdateWebhookEndpointDto extends PartialType(CreateWebhookEndpointDto, {
  skipNullProperties: false,
}) {}

export function toEndpointSpec(body: CreateWebhookEndpointDto): EndpointSpec {
  return {
    url: body.url,
    eventPatterns: body.eventPatterns,
    filter: body.filter ?? null,
    description: body.description ?? null,
    headers: body.headers ?? {},
    rateLimit: body.rateLimit ? { requests: body.rateLimit.requests, perMs: body.rateLimit.perMs } : null,
    ordered: body.ordered ?? false,
    enabled: body.enabled ?? true,
  };
}

export function toEndpointChanges(body: UpdateWebhookEndpointDto): Partial<EndpointSpec> {
  const changes: Partial<EndpointSpec> = {};
  if (body.url !== undefined) changes.url = body.url;
  if (body.eventPatterns !== undefined) changes.eventPatterns = body.eventPatterns;
  if (body.filter !== undefined) changes.filter = body.filter;
  if (body.description !== undefined) changes.description = body.description;
  if (body.headers !== undefined) changes.headers = body.headers;
  if (body.rateLimit !== undefined)
    changes.rateLimit = body.rateLimit
      ? { requests: body.rateLimit.requests, perMs: body.rateLimit.perMs }
      : null;
  if (body.ordered !== undefined) changes.ordered = body.ordered;
  if (body.enabled !== undefined) changes.enabled = body.enabled;
  return changes;
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES, example: 'failed' })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class RecoverDto {
  @ApiProperty({
    example: '2026-12-01T00:00:00Z',
    description: 'Failed deliveries made at or after this time are sent again, once each (ISO 8601)',
  })
  @IsoTime()
  since!: Date;
}
