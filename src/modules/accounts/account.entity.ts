import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AccountRole } from '../../common/auth/roles.js';

@Entity('account')
export class Account {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 200 })
  name!: string;

  /** Stored lower-cased, so uniqueness ignores case. */
  @Column({ type: String, length: 320 })
  email!: string;

  @Column({ type: String, length: 16 })
  role!: AccountRole;

  @Column({ type: Boolean })
  disabled!: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
