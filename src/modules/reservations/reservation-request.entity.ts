import { Column, Entity, PrimaryColumn } from 'typeorm';

export const REQUEST_STATUSES = ['pending', 'reserved', 'planned', 'done', 'cancelled'] as const;
/**
 * `pending`: waiting for goods (it keeps what it has); `reserved`: every item is covered;
 * `planned`: a planner made its operations; `done`: they are all done and the goods released.
 */
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const DEFAULT_LANE = 'main';

/** What a purpose says: its type picks the planner (`sale`, `move`); the rest is the planner's. */
export interface Purpose {
  type: string;
  [key: string]: unknown;
}

/** A request for goods. Its id is its priority: requests of a lane are served in id order. */
@Entity('reservation_request')
export class ReservationRequest {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'simple-json' })
  purpose!: Purpose;

  @Column({ name: 'purpose_type', type: String, length: 100 })
  purposeType!: string;

  @Column({ type: String, length: 100 })
  lane!: string;

  @Column({ type: Boolean })
  reserved!: boolean;

  @Column({ type: Boolean })
  planned!: boolean;

  @Column({ type: String, length: 10 })
  status!: RequestStatus;

  /** The supply version at which the reserver last found this request unsatisfiable. */
  @Column({ name: 'checked_version', type: Number })
  checkedVersion!: number;

  /** The claim token of the planner planning it, until `claimedUntil`. */
  @Column({ name: 'claimed_by', type: 'uuid', nullable: true })
  claimedBy!: string | null;

  @Column({ name: 'claimed_until', type: Date, nullable: true })
  claimedUntil!: Date | null;

  @Column({ name: 'idempotency_key', type: String, length: 300, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
