import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  validate,
  ValidateNested,
} from 'class-validator';
import type { JobContext } from '../jobs/jobs.contract.js';
import { JobFailure } from '../jobs/jobs.contract.js';
import { JobHandler } from '../jobs/jobs.contract.js';
import { ReservationError } from './reservation.error.js';
import { ReservationRequestsService } from './reservation-requests.service.js';

export const ORDER_RESERVATION_JOB = 'reservations.from-order';

export class OrderLineDto {
  @ApiProperty({ example: 'SKU-1', description: 'A goods type code' })
  @IsString()
  @Length(1, 100)
  goodsType!: string;

  @ApiProperty({ example: 2, minimum: 1 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  quantity!: number;

  @ApiPropertyOptional({ example: { color: 'red' }, description: 'Properties the goods must have' })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;
}

/** An order as the `reservations.from-order` job takes it; a whole event carries it as its `data`. */
export class OrderDto {
  @ApiProperty({ example: 'shop-1001', description: 'The same order id never makes a second request' })
  @IsString()
  @Length(1, 200)
  orderId!: string;

  @ApiProperty({ type: OrderLineDto, isArray: true })
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  lines!: OrderLineDto[];

  @ApiPropertyOptional({ example: 'main' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  lane?: string;

  @ApiPropertyOptional({
    example: { type: 'sale' },
    description: 'The request’s purpose; by default a sale. The order id is added to it.',
  })
  @IsOptional()
  @IsObject()
  purpose?: { type?: string; [key: string]: unknown };
}

/**
 * Turns an order into a reservation request, so that a route (`order.created` to this job type)
 * connects a shop to the warehouse. The payload is the order, or a whole event whose data is the
 * order (a route's default payload). The order id is the request's idempotency key: a replayed
 * event or a retried job does not reserve twice.
 */
@Injectable()
export class OrderReservationHandler {
  constructor(private readonly requests: ReservationRequestsService) {}

  @JobHandler(ORDER_RESERVATION_JOB, { maxAttempts: 5 })
  async fromOrder(ctx: JobContext): Promise<{ requestId: string; duplicate: boolean }> {
    const order = await readOrder(ctx.payload);
    try {
      const { request, duplicate } = await this.requests.create({
        purpose: { type: 'sale', ...order.purpose, orderId: order.orderId },
        lane: order.lane,
        items: order.lines,
        idempotencyKey: `order:${order.orderId}`,
      });
      return { requestId: request.id, duplicate };
    } catch (error) {
      // A bad reference will not get better by retrying: the job is dead with the reason, for a replay.
      if (error instanceof ReservationError) throw JobFailure.permanent(`${error.code}: ${error.message}`);
      throw error;
    }
  }
}

async function readOrder(payload: unknown): Promise<OrderDto> {
  const raw = isEventView(payload) ? payload.data : payload;
  const order = plainToInstance(OrderDto, raw);
  const errors = typeof raw === 'object' && raw !== null ? await validate(order, { whitelist: true }) : [];
  if (typeof raw !== 'object' || raw === null || errors.length > 0) {
    const problems = flatten(errors);
    throw JobFailure.permanent(
      `not an order: ${problems.length > 0 ? problems.join('; ') : 'expected an object'}`,
    );
  }
  return order;
}

function isEventView(payload: unknown): payload is { name: string; data: unknown } {
  return typeof payload === 'object' && payload !== null && 'name' in payload && 'data' in payload;
}

function flatten(errors: Awaited<ReturnType<typeof validate>>, prefix = ''): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((message) => `${prefix}${message}`),
    ...flatten(error.children ?? [], `${prefix}${error.property}.`),
  ]);
}
