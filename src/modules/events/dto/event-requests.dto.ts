import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  Length,
  MaxLength,
} from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';

export const MAX_BATCH_SIZE = 500;

export class CreateEventDto {
  @ApiProperty({
    example: 'order.created',
    description: 'Dot-separated lowercase words, digits, _ or -; at most 200 characters',
  })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ example: 'shop', description: 'The system that sends it' })
  @IsString()
  @Length(1, 200)
  source!: string;

  @ApiPropertyOptional({
    description: 'Any JSON, checked against the event type schema if one is declared; default {}',
    example: { orderId: 'A-1001', total: 129.9, accountId: 'acc-7' },
  })
  @IsOptional()
  data?: unknown;

  @ApiPropertyOptional({
    example: 'order-A-1001-created',
    description: 'The same key from the same source returns the first event and starts no job',
  })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  idempotencyKey?: string;

  @ApiPropertyOptional({
    example: '2026-11-25T09:30:00Z',
    description: 'When it happened; default when received',
  })
  @IsOptional()
  @IsoTime()
  occurredAt?: Date;
}

export class CreateEventBatchDto {
  @ApiProperty({
    type: CreateEventDto,
    isArray: true,
    description: `1 to ${MAX_BATCH_SIZE} events; each is checked and stored on its own`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_SIZE)
  events!: unknown[];
}

export class EventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: 'order.*',
    description: 'A name or a pattern (`*` one segment, `**` one or more); a page may then hold fewer items',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ example: 'shop' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  source?: string;

  @ApiPropertyOptional({ description: 'Received at or after (ISO 8601)', example: '2026-11-24T00:00:00Z' })
  @IsOptional()
  @IsoTime()
  from?: Date;

  @ApiPropertyOptional({ description: 'Received before (ISO 8601)', example: '2026-11-25T00:00:00Z' })
  @IsOptional()
  @IsoTime()
  to?: Date;
}

export class ReplayEventsDto {
  @ApiProperty({ example: 'order.**', description: 'Which event names to replay' })
  @IsString()
  @MaxLength(200)
  pattern!: string;

  @ApiProperty({ description: 'Received at or after (ISO 8601)', example: '2026-11-24T00:00:00Z' })
  @IsoTime()
  from!: Date;

  @ApiProperty({ description: 'Received before (ISO 8601)', example: '2026-11-25T00:00:00Z' })
  @IsoTime()
  to!: Date;
}
