import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `quantity` objects of one goods type whose properties include `properties`. */
@Entity('request_item')
export class RequestItem {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  @Column({ type: Number })
  position!: number;

  @Column({ name: 'goods_type_id', type: 'uuid' })
  goodsTypeId!: string;

  @Column({ type: Number })
  quantity!: number;

  @Column({ type: 'simple-json' })
  properties!: Record<string, unknown>;

  @Column({ name: 'reserved_quantity', type: Number })
  reservedQuantity!: number;
}
