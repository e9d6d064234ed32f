import { Column, Entity, PrimaryColumn } from 'typeorm';

export const OPERATION_TYPES = ['arrival', 'move', 'departure', 'unpack'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const OPERATION_STATES = ['planned', 'started', 'done', 'cancelled'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/**
 * A change to goods at a time: an arrival brings an object in, a move takes it elsewhere, a
 * departure takes it out, an unpack turns it into its contents. Planning one gives its input avatar
 * an end and creates its outcomes as future avatars; executing it makes the input past and the
 * outcomes present.
 */
@Entity('operation')
export class Operation {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 10 })
  type!: OperationType;

  @Column({ type: String, length: 10 })
  state!: OperationState;

  @Column({ name: 'dt_execution', type: Date })
  dtExecution!: Date;

  /** The object it works on (for an arrival, the arriving one). */
  @Column({ name: 'goods_id', type: 'uuid' })
  goodsId!: string;

  /** The avatar it consumes; null for an arrival. */
  @Column({ name: 'input_avatar_id', type: 'uuid', nullable: true })
  inputAvatarId!: string | null;

  /** Where an arrival or a move puts the object. */
  @Column({ name: 'location_id', type: 'uuid', nullable: true })
  locationId!: string | null;

  /** The request it was planned for, if any. */
  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId!: string | null;

  /** The operation whose outcome is its input; cancelling that one cancels this one. */
  @Column({ name: 'follows_id', type: 'uuid', nullable: true })
  followsId!: string | null;

  @Column({ name: 'executed_at', type: Date, nullable: true })
  executedAt!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
