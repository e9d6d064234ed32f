import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One object promised to one request item; the database refuses a second reservation of it. */
@Entity('reservation')
export class Reservation {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'goods_id', type: 'uuid' })
  goodsId!: string;

  @Column({ name: 'request_item_id', type: 'uuid' })
  requestItemId!: string;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  /** Units of the item it covers: one object counts as one. */
  @Column({ type: Number })
  quantity!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
