import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { AVATAR_STATES } from '../avatar.entity.js';
import type { Avatar, AvatarState } from '../avatar.entity.js';
import type { GoodsType } from '../goods-type.entity.js';
import type { StockCount, StockQuery } from '../goods.service.js';
import type { Goods } from '../goods.entity.js';
import type { Location } from '../location.entity.js';

export class GoodsTypeDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'SKU-1' })
  code!: string;

  @ApiProperty({ example: 'Red bicycle' })
  label!: string;

  @ApiProperty({ type: Object, example: { wheelSize: 28 } })
  properties!: Record<string, unknown>;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;
}

export class GoodsTypePageDto extends PageDto(GoodsTypeDto) {}

export class LocationDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'north.shelf-4' })
  code!: string;

  @ApiProperty({ example: 'North warehouse, shelf 4' })
  label!: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The location it is inside; null at the top',
  })
  parentId!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;
}

export class LocationPageDto extends PageDto(LocationDto) {}

export class AvatarDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234568' })
  locationId!: string;

  @ApiProperty({
    enum: AVATAR_STATES,
    example: 'present',
    description:
      '`present`: where it is now; `future`: where a planned operation will put it; `past`: where it was',
  })
  state!: AvatarState;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z', description: 'From when it is (or will be) there' })
  dtFrom!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-26T08:00:00.000Z',
    description: 'When an operation takes it away; null while none does',
  })
  dtUntil!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The operation it is the outcome of; null for goods entered as present',
  })
  outcomeOf!: string | null;
}

export class GoodsDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234569' })
  goodsTypeId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'SN-000123',
    description: 'A serial number or label',
  })
  code!: string | null;

  @ApiProperty({ type: Object, example: { color: 'red' } })
  properties!: Record<string, unknown>;

  @ApiProperty({ example: false, description: 'A reservation request holds it' })
  reserved!: boolean;

  @ApiProperty({ example: true, description: 'It is here or due to arrive, so it can be promised' })
  inStock!: boolean;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;
}

export class GoodsDetailDto extends GoodsDto {
  @ApiProperty({
    type: AvatarDto,
    isArray: true,
    description: 'Where it was, is and will be, oldest first',
  })
  avatars!: AvatarDto[];
}

export class GoodsPageDto extends PageDto(GoodsDto) {}

export class CreatedGoodsDto {
  @ApiProperty({ type: GoodsDto, isArray: true, description: 'The objects entered, one per count' })
  items!: GoodsDto[];
}

export class StockDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'SKU-1',
    description: 'The goods type code asked for',
  })
  goodsType!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'north', description: 'The location code asked for' })
  location!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-24T12:00:00.000Z',
    description: 'The time asked for; null counts every present and future avatar',
  })
  at!: string | null;

  @ApiProperty({ example: 40, description: 'Objects there now' })
  present!: number;

  @ApiProperty({ example: 5, description: 'Objects due to arrive by planned operations' })
  future!: number;

  @ApiProperty({ example: 12, description: 'Of those counted, the ones promised to a request' })
  reserved!: number;
}

export function toGoodsTypeDto(type: GoodsType): GoodsTypeDto {
  return {
    id: type.id,
    code: type.code,
    label: type.label,
    properties: type.properties,
    createdAt: type.createdAt.toISOString(),
  };
}

export function toLocationDto(location: Location): LocationDto {
  return {
    id: location.id,
    code: location.code,
    label: location.label,
    parentId: location.parentId,
    createdAt: location.createdAt.toISOString(),
  };
}

export function toAvatarDto(avatar: Avatar): AvatarDto {
  return {
    id: avatar.id,
    locationId: avatar.locationId,
    state: avatar.state,
    dtFrom: avatar.dtFrom.toISOString(),
    dtUntil: avatar.dtUntil?.toISOString() ?? null,
    outcomeOf: avatar.outcomeOf,
  };
}

export function toGoodsDto(goods: Goods): GoodsDto {
  return {
    id: goods.id,
    goodsTypeId: goods.typeId,
    code: goods.code,
    properties: goods.properties,
    reserved: goods.reserved,
    inStock: goods.inStock,
    createdAt: goods.createdAt.toISOString(),
  };
}

export function toGoodsDetailDto(detail: { goods: Goods; avatars: Avatar[] }): GoodsDetailDto {
  return { ...toGoodsDto(detail.goods), avatars: detail.avatars.map(toAvatarDto) };
}

export function toCreatedGoodsDto(goods: Goods[]): CreatedGoodsDto {
  return { items: goods.map(toGoodsDto) };
}

/** The query echoed, with its counts. */
export function toStockDto(query: StockQuery, count: StockCount): StockDto {
  return {
    goodsType: query.goodsType ?? null,
    location: query.location ?? null,
    at: query.at?.toISOString() ?? null,
    present: count.present,
    future: count.future,
    reserved: count.reserved,
  };
}
