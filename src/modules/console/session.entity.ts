import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A dashboard session: a signed-in browser, acting with the API key it signed in with. Only a
 * SHA-256 hash of the cookie's token is kept.
 */
@Entity('console_session')
export class Session {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;

  @Column({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @Column({ name: 'token_hash', type: String, length: 64 })
  tokenHash!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;
}
