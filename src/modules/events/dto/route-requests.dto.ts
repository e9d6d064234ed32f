import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_ATTEMPTS_LIMIT, MAX_PRIORITY } from '../../jobs/jobs.contract.js';
import type { RouteSpec } from '../routes.service.js';

export class RouteJobOptionsDto {
  @ApiPropertyOptional({ example: 10, description: 'Higher runs first' })
  @IsOptional()
  @IsInt()
  @Min(-MAX_PRIORITY)
  @Max(MAX_PRIORITY)
  priority?: number;

  @ApiPropertyOptional({ example: 0, description: 'Run no sooner than this long after the event' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 3_600_000)
  delayMs?: number;

  @ApiPropertyOptional({ example: 5, description: "Overrides the job type's maxAttempts" })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS_LIMIT)
  maxAttempts?: number;

  @ApiPropertyOptional({
    example: '{{data.accountId}}',
    description: 'A template: jobs with the same rendered key take turns',
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  concurrencyKey?: string;
}

export class CreateRouteDto {
  @ApiProperty({ example: 'orders to the manufacturer' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ example: 'order.**', description: '`*` matches one name segment, `**` one or more' })
  @IsString()
  @MaxLength(200)
  eventPattern!: string;

  @ApiPropertyOptional({
    type: Object,
    nullable: true,
    example: { 'data.total': { $gt: 100 } },
    description:
      'A MongoDB-style query on the event (id, name, source, data, occurredAt, ...); none matches all',
  })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown> | null;

  @ApiProperty({ example: 'partner.push-order', description: 'A job type with a handler' })
  @IsString()
  @MaxLength(200)
  jobType!: string;

  @ApiPropertyOptional({
    description:
      "The job payload with {{path}} placeholders on the event; a string that is only a placeholder keeps the value's type. None passes the whole event",
    example: { orderId: '{{data.orderId}}', lines: '{{data.lines}}' },
  })
  @IsOptional()
  payloadTemplate?: unknown;

  @ApiPropertyOptional({ type: RouteJobOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => RouteJobOptionsDto)
  jobOptions?: RouteJobOptionsDto;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class UpdateRouteDto extends PartialType(CreateRouteDto) {}

export function toRouteSpec(body: CreateRouteDto): RouteSpec {
  return {
    name: body.name,
    eventPattern: body.eventPattern,
    filter: body.filter ?? null,
    jobType: body.jobType,
    payloadTemplate: body.payloadTemplate ?? null,
    jobOptions: { ...body.jobOptions },
    enabled: body.enabled ?? true,
  };
}

/** Only the fields given change. */
export function toRouteChanges(body: UpdateRouteDto): Partial<RouteSpec> {
  const changes: Partial<RouteSpec> = {};
  if (body.name !== undefined) changes.name = body.name;
  if (body.eventPattern !== undefined) changes.eventPattern = body.eventPattern;
  if (body.filter !== undefined) changes.filter = body.filter;
  if (body.jobType !== undefined) changes.jobType = body.jobType;
  if (body.payloadTemplate !== undefined) changes.payloadTemplate = body.payloadTemplate;
  if (body.jobOptions !== undefined) changes.jobOptions = { ...body.jobOptions };
  if (body.enabled !== undefined) changes.enabled = body.enabled;
  return changes;
}
