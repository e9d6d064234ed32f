import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, MaxLength } from 'class-validator';

export class PutEventTypeDto {
  @ApiProperty({
    description:
      'A JSON Schema (draft 07 / 2019-09 keywords, with formats such as email and date-time) for `data`',
    example: {
      type: 'object',
      required: ['orderId', 'total'],
      properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } },
    },
  })
  @IsObject()
  schema!: Record<string, unknown>;

  @ApiProperty({ example: 'A customer placed an order in the shop' })
  @IsString()
  @MaxLength(2000)
  description!: string;
}
