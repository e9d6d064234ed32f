import { ApiProperty } from '@nestjs/swagger';
import type { RouteRecord } from '../routes.service.js';
import { RouteJobOptionsDto } from './route-requests.dto.js';

export class RouteDto {
  @ApiProperty({
    example: '019abc12-3def-7456-89ab-cdef01234567',
    description: 'A UUID, or code:<jobType>:<pattern>',
  })
  id!: string;

  @ApiProperty({
    enum: ['api', 'code'],
    description: 'code routes come from @JobHandler(type, { on }) and are read-only',
  })
  origin!: 'api' | 'code';

  @ApiProperty({ example: 'orders to the manufacturer' })
  name!: string;

  @ApiProperty({ example: 'order.**' })
  eventPattern!: string;

  @ApiProperty({ type: Object, nullable: true, example: { 'data.total': { $gt: 100 } } })
  filter!: Record<string, unknown> | null;

  @ApiProperty({ example: 'partner.push-order' })
  jobType!: string;

  @ApiProperty({
    nullable: true,
    description: 'null passes the whole event',
    example: { orderId: '{{data.orderId}}' },
  })
  payloadTemplate!: unknown;

  @ApiProperty({ type: RouteJobOptionsDto })
  jobOptions!: RouteJobOptionsDto;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ type: Date, nullable: true })
  createdAt!: Date | null;

  @ApiProperty({ type: Date, nullable: true })
  updatedAt!: Date | null;
}

export function toRouteDto(route: RouteRecord): RouteDto {
  return { ...route };
}
