import { Column, Entity, PrimaryColumn } from 'typeorm';

export const AVATAR_STATES = ['past', 'present', 'future'] as const;
export type AvatarState = (typeof AVATAR_STATES)[number];

/**
 * Goods at a location over a span of time: `present` is where it is now (at most one per object,
 * enforced by a unique index), `future` where a planned operation will put it, `past` where it was.
 */
@Entity('avatar')
export class Avatar {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'goods_id', type: 'uuid' })
  goodsId!: string;

  @Column({ name: 'location_id', type: 'uuid' })
  locationId!: string;

  @Column({ type: String, length: 8 })
  state!: AvatarState;

  @Column({ name: 'dt_from', type: Date })
  dtFrom!: Date;

  /** When a planned or done operation takes it away; null while nothing does. */
  @Column({ name: 'dt_until', type: Date, nullable: true })
  dtUntil!: Date | null;

  /** The operation whose outcome it is; null for goods entered as already present. */
  @Column({ name: 'outcome_of', type: 'uuid', nullable: true })
  outcomeOf!: string | null;
}
