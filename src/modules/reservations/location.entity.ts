import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A place goods can be: a warehouse, a shelf in it (its parent is the warehouse), a dock. */
@Entity('location')
export class Location {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 100 })
  code!: string;

  @Column({ type: String, length: 200 })
  label!: string;

  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
