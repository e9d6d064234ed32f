import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One request of a delivery and what came of it. */
@Entity('webhook_attempt')
export class WebhookAttempt {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'delivery_id', type: 'uuid' })
  deliveryId!: string;

  @Column({ type: 'int' })
  attempt!: number;

  @Column({ name: 'status_code', type: 'int', nullable: true })
  statusCode!: number | null;

  @Column({ name: 'duration_ms', type: 'int' })
  durationMs!: number;

  /** The first 1 KB of the response body. */
  @Column({ type: 'text', nullable: true })
  response!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'started_at', type: Date })
  startedAt!: Date;
}
