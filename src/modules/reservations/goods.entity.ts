import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One physical object. Where and when it exists is told by its avatars. */
@Entity('goods')
export class Goods {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'type_id', type: 'uuid' })
  typeId!: string;

  /** A serial number or label, when the object has one. */
  @Column({ type: String, length: 200, nullable: true })
  code!: string | null;

  @Column({ type: 'simple-json' })
  properties!: Record<string, unknown>;

  /** Mirrors "a reservation holds it" (the reservation table is the truth), for the reserver's index. */
  @Column({ type: Boolean })
  reserved!: boolean;

  /**
   * It is here or due to arrive, and no planned operation takes it away or unpacks it: it can be
   * promised. (It has a present or future avatar with no end.)
   */
  @Column({ name: 'in_stock', type: Boolean })
  inStock!: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
