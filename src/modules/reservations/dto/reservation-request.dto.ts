import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import type { RequestItem } from '../request-item.entity.js';
import { REQUEST_STATUSES } from '../reservation-request.entity.js';
import type { Purpose, RequestStatus, ReservationRequest } from '../reservation-request.entity.js';
import type { RequestDetail } from '../reservation-requests.service.js';
import type { Reservation } from '../reservation.entity.js';

export class RequestItemDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234569',
    description: 'The goods type asked for',
  })
  goodsTypeId!: string;

  @ApiProperty({ example: 2 })
  quantity!: number;

  @ApiProperty({ type: Object, example: { color: 'red' }, description: 'Properties the goods must have' })
  properties!: Record<string, unknown>;

  @ApiProperty({ example: 1, description: 'How much of the quantity reservations cover so far' })
  reservedQuantity!: number;
}

export class ReservationDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef0123456a',
    description: 'The object promised',
  })
  goodsId!: string;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef0123456b',
    description: 'The item it covers',
  })
  requestItemId!: string;

  @ApiProperty({ example: 1, description: 'Units of the item it covers' })
  quantity!: number;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;
}

export class ReservationRequestDto {
  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234567',
    description: 'Time-ordered: requests of a lane are served in id order',
  })
  id!: string;

  @ApiProperty({
    type: Object,
    example: { type: 'sale', orderId: 'shop-1001' },
    description: '`type` names the planner that plans it; the other keys are the planner’s',
  })
  purpose!: Purpose;

  @ApiProperty({ example: 'main' })
  lane!: string;

  @ApiProperty({ example: false, description: 'Every item is covered by reservations' })
  reserved!: boolean;

  @ApiProperty({ example: false, description: 'A planner made its operations' })
  planned!: boolean;

  @ApiProperty({
    enum: REQUEST_STATUSES,
    example: 'pending',
    description:
      '`pending`: waiting for goods; `reserved`: every item is covered; `planned`: its operations are made; `done`: they are all done; `cancelled`',
  })
  status!: RequestStatus;

  @ApiProperty({ type: String, nullable: true, example: 'order:shop-1001' })
  idempotencyKey!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  updatedAt!: string;
}

export class ReservationRequestDetailDto extends ReservationRequestDto {
  @ApiProperty({ type: RequestItemDto, isArray: true, description: 'In the order they were given' })
  items!: RequestItemDto[];

  @ApiProperty({ type: ReservationDto, isArray: true, description: 'The goods promised to it now' })
  reservations!: ReservationDto[];
}

export class ReservationRequestPageDto extends PageDto(ReservationRequestDto) {}

export class CreatedReservationRequestDto extends ReservationRequestDto {
  @ApiProperty({
    example: false,
    description: 'true: the idempotency key had been used, and this is the request created then',
  })
  duplicate!: boolean;
}

export function toRequestItemDto(item: RequestItem): RequestItemDto {
  return {
    id: item.id,
    goodsTypeId: item.goodsTypeId,
    quantity: item.quantity,
    properties: item.properties,
    reservedQuantity: item.reservedQuantity,
  };
}

export function toReservationDto(reservation: Reservation): ReservationDto {
  return {
    id: reservation.id,
    goodsId: reservation.goodsId,
    requestItemId: reservation.requestItemId,
    quantity: reservation.quantity,
    createdAt: reservation.createdAt.toISOString(),
  };
}

export function toReservationRequestDto(request: ReservationRequest): ReservationRequestDto {
  return {
    id: request.id,
    purpose: request.purpose,
    lane: request.lane,
    reserved: request.reserved,
    planned: request.planned,
    status: request.status,
    idempotencyKey: request.idempotencyKey,
    createdAt: request.createdAt.toISOString(),
    updatedAt: request.updatedAt.toISOString(),
  };
}

export function toReservationRequestDetailDto(detail: RequestDetail): ReservationRequestDetailDto {
  return {
    ...toReservationRequestDto(detail.request),
    items: detail.items.map(toRequestItemDto),
    reservations: detail.reservations.map(toReservationDto),
  };
}

export function toCreatedReservationRequestDto(created: {
  request: ReservationRequest;
  duplicate: boolean;
}): CreatedReservationRequestDto {
  return { ...toReservationRequestDto(created.request), duplicate: created.duplicate };
}
