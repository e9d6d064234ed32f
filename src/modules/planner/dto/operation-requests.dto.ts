import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  ValidateNested,
} from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';
import { GoodsLineDto } from '../../reservations/reservations.contract.js';
import { OPERATION_STATES, OPERATION_TYPES } from '../operation.entity.js';
import type { OperationState, OperationType } from '../operation.entity.js';

export const MAX_GOODS_LINES = 1000;

/** The operations POST /operations plans; arrivals have POST /arrivals. */
export const PLANNABLE_OPERATION_TYPES = [
  'move',
  'departure',
  'unpack',
] as const satisfies readonly OperationType[];
export type PlannableOperationType = (typeof PLANNABLE_OPERATION_TYPES)[number];

export class CreateArrivalsDto {
  @ApiProperty({
    example: 'north.dock',
    minLength: 1,
    maxLength: 100,
    description: 'The code of the location the goods arrive at',
  })
  @IsString()
  @Length(1, 100)
  location!: string;

  @ApiProperty({
    example: '2026-11-24T12:00:00Z',
    description: 'When the goods arrive (ISO 8601); the arrivals are executed when it is due',
  })
  @IsoTime()
  dtExecution!: Date;

  @ApiProperty({
    type: GoodsLineDto,
    isArray: true,
    description: `1 to ${MAX_GOODS_LINES} lines of alike objects`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_GOODS_LINES)
  @ValidateNested({ each: true })
  @Type(() => GoodsLineDto)
  goods!: GoodsLineDto[];
}

export class CreateOperationDto {
  @ApiProperty({
    enum: PLANNABLE_OPERATION_TYPES,
    example: 'move',
    description:
      '`move`: to `location`; `departure`: the object leaves; `unpack`: the object (a container) becomes `contents`, where it is',
  })
  @IsIn(PLANNABLE_OPERATION_TYPES)
  type!: PlannableOperationType;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234567',
    description: 'The id of the goods object it works on',
  })
  @IsUUID()
  goods!: string;

  @ApiPropertyOptional({
    example: 'north.shelf-4',
    minLength: 1,
    maxLength: 100,
    description: 'The code of the location a move takes the object to; required for a move',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  location?: string;

  @ApiPropertyOptional({
    example: '2026-11-24T12:00:00Z',
    description:
      'When it is to happen (ISO 8601); now by default, and never before the object gets where the operations already planned for it put it',
  })
  @IsOptional()
  @IsoTime()
  dtExecution?: Date;

  @ApiPropertyOptional({
    type: GoodsLineDto,
    isArray: true,
    description: `What an unpack turns the object into, at its location: 1 to ${MAX_GOODS_LINES} lines; required for an unpack`,
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_GOODS_LINES)
  @ValidateNested({ each: true })
  @Type(() => GoodsLineDto)
  contents?: GoodsLineDto[];
}

export class OperationQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: OPERATION_STATES })
  @IsOptional()
  @IsIn(OPERATION_STATES)
  state?: OperationState;

  @ApiPropertyOptional({ enum: OPERATION_TYPES })
  @IsOptional()
  @IsIn(OPERATION_TYPES)
  type?: OperationType;

  @ApiPropertyOptional({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234567',
    description: 'Only operations planned for this reservation request',
  })
  @IsOptional()
  @IsUUID()
  request?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234568',
    description: 'Only operations on this goods object',
  })
  @IsOptional()
  @IsUUID()
  goods?: string;
}
