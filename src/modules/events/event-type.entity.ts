import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A declared event name with the JSON Schema its data must satisfy at intake. */
@Entity('event_type')
export class EventType {
  @PrimaryColumn({ type: String, length: 200 })
  name!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'simple-json' })
  schema!: Record<string, unknown>;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
