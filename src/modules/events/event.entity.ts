import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Something that happened in a business system (or in Junction itself), as it was received. */
@Entity('event')
export class Event {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /** Dot-separated, such as `order.created`. */
  @Column({ type: String, length: 200 })
  name!: string;

  /** The system that sent it; `junction` for events Junction emits itself. */
  @Column({ type: String, length: 200 })
  source!: string;

  @Column({ type: 'simple-json' })
  data!: unknown;

  /** Unique per source: posting the same key again returns this event. */
  @Column({ name: 'idempotency_key', type: String, length: 300, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'occurred_at', type: Date })
  occurredAt!: Date;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;

  /** The account whose key posted it; null for events Junction emits. */
  @Column({ name: 'posted_by', type: 'uuid', nullable: true })
  postedBy!: string | null;

  /** 0 for an event from outside; one more than its cause's for an event a job's outcome emits. */
  @Column({ name: 'causation_depth', type: 'integer' })
  causationDepth!: number;

  /** The job whose outcome this event reports. */
  @Column({ name: 'caused_by_job', type: 'uuid', nullable: true })
  causedByJob!: string | null;
}
