import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import type { ValidationOptions } from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { DEFAULT_LANE, REQUEST_STATUSES } from '../reservation-request.entity.js';
import type { Purpose, RequestStatus } from '../reservation-request.entity.js';
import { CODE_MESSAGE, CODE_PATTERN } from './goods-requests.dto.js';

/** Purpose types name a planner as job types name a handler: lowercase words joined by dots or dashes. */
export const PURPOSE_TYPE_PATTERN = /^[a-z0-9]+([.-][a-z0-9]+)*$/;
const PURPOSE_TYPE_MAX_LENGTH = 100;

export const MAX_REQUEST_ITEMS = 1000;

/**
 * A purpose is an object whose `type` names a planner; its other keys are the planner's, so it is
 * checked as a whole rather than as a nested DTO, which the whitelist would strip them from.
 */
function IsPurpose(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPurpose',
      validator: {
        validate: (value: unknown): boolean =>
          typeof value === 'object' &&
          value !== null &&
          'type' in value &&
          typeof value.type === 'string' &&
          value.type.length <= PURPOSE_TYPE_MAX_LENGTH &&
          PURPOSE_TYPE_PATTERN.test(value.type),
        defaultMessage: (): string =>
          '$property.type must be lowercase words joined by dots or dashes, such as sale, ' +
          `of at most ${PURPOSE_TYPE_MAX_LENGTH} characters`,
      },
    },
    options,
  );
}

export class RequestItemInputDto {
  @ApiProperty({ example: 'SKU-1', description: 'A goods type code' })
  @IsString()
  @Length(1, 100)
  goodsType!: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: 1_000_000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  quantity!: number;

  @ApiPropertyOptional({
    type: Object,
    example: { color: 'red' },
    description: 'Properties the goods must have (theirs include these); default {}',
  })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;
}

export class CreateReservationRequestDto {
  @ApiProperty({
    type: Object,
    example: { type: 'sale', orderId: 'shop-1001' },
    description:
      'What the goods are for: `type` names the planner that plans it (such as `sale`); the other keys are the planner’s',
  })
  @IsObject()
  @IsPurpose()
  purpose!: Purpose;

  @ApiPropertyOptional({
    example: DEFAULT_LANE,
    default: DEFAULT_LANE,
    minLength: 1,
    maxLength: 100,
    description: 'Requests of a lane are served in the order they came; lanes do not wait for each other',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @Matches(CODE_PATTERN, { message: CODE_MESSAGE })
  lane?: string;

  @ApiProperty({
    type: RequestItemInputDto,
    isArray: true,
    description: `1 to ${MAX_REQUEST_ITEMS} items`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_REQUEST_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => RequestItemInputDto)
  items!: RequestItemInputDto[];

  @ApiPropertyOptional({
    example: 'order:shop-1001',
    minLength: 1,
    maxLength: 300,
    description: 'Creating with the same key again returns the first request (duplicate: true)',
  })
  // Not IsOptional: null is refused, as it would not name a key.
  @ValidateIf((_body: unknown, value: unknown) => value !== undefined)
  @IsString()
  @Length(1, 300)
  idempotencyKey?: string;
}

export class RequestQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: REQUEST_STATUSES })
  @IsOptional()
  @IsIn(REQUEST_STATUSES)
  status?: RequestStatus;

  @ApiPropertyOptional({ example: DEFAULT_LANE })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  lane?: string;
}
