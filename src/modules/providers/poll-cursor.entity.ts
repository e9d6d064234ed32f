import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Where one poller of a connection has read up to; its next poll starts there. */
@Entity('poll_cursor')
export class PollCursor {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @PrimaryColumn({ type: String, length: 100 })
  poller!: string;

  @Column({ type: 'text' })
  cursor!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
