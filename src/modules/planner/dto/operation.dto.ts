import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { OPERATION_STATES, OPERATION_TYPES } from '../operation.entity.js';
import type { OperationState, OperationType } from '../operation.entity.js';
import type { OperationView } from '../operations.service.js';

export class OperationDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({
    enum: OPERATION_TYPES,
    example: 'move',
    description:
      '`arrival`: the object comes in; `move`: it goes to another location; `departure`: it leaves; `unpack`: it becomes its contents',
  })
  type!: OperationType;

  @ApiProperty({
    enum: OPERATION_STATES,
    example: 'planned',
    description:
      '`planned`: still to run; `started`: under way; `done`: executed; `cancelled`: undone, with what followed from it',
  })
  state!: OperationState;

  @ApiProperty({
    example: '2026-11-24T12:00:00.000Z',
    description: 'When it is planned to happen; never before its input exists',
  })
  dtExecution!: string;

  @ApiProperty({
    format: 'uuid',
    example: '019abc12-3def-7456-89ab-cdef01234568',
    description: 'The object it works on (for an arrival, the arriving one)',
  })
  goodsId!: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'Where an arrival or a move puts the object; null for a departure or an unpack',
  })
  locationId!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The reservation request it was planned for; null when planned outside any',
  })
  requestId!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The operation whose outcome is its input; cancelling that one cancels this one',
  })
  followsId!: string | null;

  @ApiProperty({
    type: String,
    isArray: true,
    format: 'uuid',
    example: ['019abc12-3def-7456-89ab-cdef01234569'],
    description: 'The avatars it consumes (where the object is before it); empty for an arrival',
  })
  inputs!: string[];

  @ApiProperty({
    type: String,
    isArray: true,
    format: 'uuid',
    example: ['019abc12-3def-7456-89ab-cdef0123456a'],
    description:
      'The avatars it produces: future until it is done, then present; empty for a departure, dropped when cancelled',
  })
  outcomes!: string[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-24T12:00:03.000Z',
    description: 'When it was executed; null until done',
  })
  executedAt!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  updatedAt!: string;
}

export class OperationPageDto extends PageDto(OperationDto) {}

export class ArrivalsDto {
  @ApiProperty({
    type: OperationDto,
    isArray: true,
    description: 'One planned arrival per object, in the order of the goods lines',
  })
  operations!: OperationDto[];
}

export function toOperationDto(view: OperationView): OperationDto {
  const { operation } = view;
  return {
    id: operation.id,
    type: operation.type,
    state: operation.state,
    dtExecution: operation.dtExecution.toISOString(),
    goodsId: operation.goodsId,
    locationId: operation.locationId,
    requestId: operation.requestId,
    followsId: operation.followsId,
    inputs: view.inputs,
    outcomes: view.outcomes,
    executedAt: operation.executedAt?.toISOString() ?? null,
    createdAt: operation.createdAt.toISOString(),
    updatedAt: operation.updatedAt.toISOString(),
  };
}

export function toArrivalsDto(views: OperationView[]): ArrivalsDto {
  return { operations: views.map(toOperationDto) };
}
