import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A kind of goods, such as a product: what requests ask for. */
@Entity('goods_type')
export class GoodsType {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 100 })
  code!: string;

  @Column({ type: String, length: 200 })
  label!: string;

  @Column({ type: 'simple-json' })
  properties!: Record<string, unknown>;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
