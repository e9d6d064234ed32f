import { Column, Entity, PrimaryColumn } from 'typeorm';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
/** `pending` until an attempt succeeds or the last one fails (`failed`); a resend makes it pending again. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event sent to one endpoint: the body is fixed when the event is stored, so every retry sends the same bytes. */
@Entity('webhook_delivery')
export class WebhookDelivery {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'endpoint_id', type: 'uuid' })
  endpointId!: string;

  /** The `webhook-id` header: receivers deduplicate on it. */
  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ name: 'event_name', type: String, length: 200 })
  eventName!: string;

  /** The JSON body sent. */
  @Column({ type: 'text' })
  body!: string;

  @Column({ type: String, length: 16 })
  status!: DeliveryStatus;

  /** Attempts made, resends included. */
  @Column({ type: 'int' })
  attempts!: number;

  /** When the next attempt is due, while pending after a failure. */
  @Column({ name: 'next_attempt_at', type: Date, nullable: true })
  nextAttemptAt!: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
