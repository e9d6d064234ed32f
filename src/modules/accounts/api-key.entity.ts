import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Account } from './account.entity.js';

/** An API key of an account. Only a SHA-256 hash of the key is kept; the key itself is shown once. */
@Entity('api_key')
export class ApiKey {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;

  @ManyToOne(() => Account, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id' })
  account?: Account;

  @Column({ type: String, length: 200 })
  name!: string;

  /** The first characters of the key: shown in listings and used to find the row. */
  @Column({ type: String, length: 16 })
  prefix!: string;

  @Column({ type: String, length: 64 })
  hash!: string;

  @Column({ name: 'expires_at', type: Date, nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
