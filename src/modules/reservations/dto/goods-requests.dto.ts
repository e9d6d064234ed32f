import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';

/** What codes of goods types and locations (and lane names) are made of. */
export const CODE_PATTERN = /^[A-Za-z0-9._-]+$/;
export const CODE_MESSAGE = '$property may hold only letters, digits, dots, underscores and dashes';

export const MAX_GOODS_COUNT = 10_000;

export class CreateGoodsTypeDto {
  @ApiProperty({
    example: 'SKU-1',
    minLength: 1,
    maxLength: 100,
    description: 'Unique; letters, digits, `.`, `_` and `-`. Requests and goods name the type by it',
  })
  @IsString()
  @Length(1, 100)
  @Matches(CODE_PATTERN, { message: CODE_MESSAGE })
  code!: string;

  @ApiPropertyOptional({
    example: 'Red bicycle',
    minLength: 1,
    maxLength: 200,
    description: 'Default: the code',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({
    type: Object,
    example: { wheelSize: 28 },
    description: 'Any JSON object describing the type; default {}',
  })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;
}

export class CreateLocationDto {
  @ApiProperty({
    example: 'north.shelf-4',
    minLength: 1,
    maxLength: 100,
    description: 'Unique; letters, digits, `.`, `_` and `-`',
  })
  @IsString()
  @Length(1, 100)
  @Matches(CODE_PATTERN, { message: CODE_MESSAGE })
  code!: string;

  @ApiPropertyOptional({
    example: 'North warehouse, shelf 4',
    minLength: 1,
    maxLength: 200,
    description: 'Default: the code',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  label?: string;

  @ApiPropertyOptional({
    example: 'north',
    description: 'The code of the location it is inside (a shelf’s warehouse); stock there counts it',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  parent?: string;
}

/** Alike objects of one goods type: goods entered, arriving, or unpacked from a container. */
export class GoodsLineDto {
  @ApiProperty({ example: 'SKU-1', minLength: 1, maxLength: 100, description: 'A goods type code' })
  @IsString()
  @Length(1, 100)
  goodsType!: string;

  @ApiPropertyOptional({
    example: 'SN-000123',
    minLength: 1,
    maxLength: 200,
    description: 'A serial number or label; every object of the line gets it',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  code?: string;

  @ApiPropertyOptional({
    type: Object,
    example: { color: 'red' },
    description: 'Any JSON object; requests may ask for goods whose properties include theirs. Default {}',
  })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 12,
    minimum: 1,
    maximum: MAX_GOODS_COUNT,
    default: 1,
    description: 'How many alike objects',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_GOODS_COUNT)
  count?: number;
}

export class CreateGoodsDto extends GoodsLineDto {
  @ApiProperty({
    example: 'north.shelf-4',
    description: 'The code of the location the goods are at from now on',
  })
  @IsString()
  @Length(1, 100)
  location!: string;
}

export class GoodsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'SKU-1', description: 'Only goods of the type with this code' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  goodsType?: string;

  @ApiPropertyOptional({
    example: 'north.shelf-4',
    description: 'Only goods at, or due at, the location with this code or a location inside it',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  location?: string;
}

export class StockQueryDto {
  @ApiPropertyOptional({ example: 'SKU-1', description: 'Only goods of the type with this code' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  goodsType?: string;

  @ApiPropertyOptional({
    example: 'north',
    description: 'Only goods at the location with this code or at the locations inside it',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  location?: string;

  @ApiPropertyOptional({
    example: '2026-11-24T12:00:00Z',
    description:
      'Count what is there at this time (ISO 8601): planned departures before it are out, arrivals due by it are in. None counts every present and future avatar',
  })
  @IsOptional()
  @IsoTime()
  at?: Date;
}
