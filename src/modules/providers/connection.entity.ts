import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CredentialType } from './credentials.js';

export const CONNECTION_STATES = ['active', 'paused', 'bad_authentication'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export interface ConnectionProblem {
  code: string;
  message: string;
  at: string;
}

/** How a connection's content type syncs: whether at all, and only items of which dates. */
export interface ContentTypeSettings {
  enabled?: boolean;
  /** ISO dates or times; items before `from` or after `to` are not read. */
  from?: string;
  to?: string;
}

/**
 * What an account chooses for a connection beyond the provider's config: how often it syncs
 * (`@every 15m`-style interval or a cron), which content types over which dates, and where copies
 * of the items' content go; none by default.
 */
export interface ConnectionSettings {
  syncEvery?: string;
  contentTypes?: Record<string, ContentTypeSettings>;
  /** A storage connection of the same account that keeps a copy of each synced item's content. */
  storageConnectionId?: string;
}

/** A webhook secret rotated out, sealed, and when deliveries signed with it stop being accepted. */
export interface PreviousWebhookSecret {
  sealed: string;
  /** ISO time. */
  expiresAt: string;
}

/** An account's instance of a provider: its settings, its sealed credentials and its state. */
@Entity('connection')
export class Connection {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /** The owner; deleting the account deletes its connections (a foreign key). */
  @Column({ name: 'account_id', type: 'uuid' })
  accountId!: string;

  @Column({ type: String, length: 100 })
  provider!: string;

  /** Unique per account. */
  @Column({ type: String, length: 200 })
  name!: string;

  @Column({ type: 'simple-json' })
  config!: Record<string, unknown>;

  @Column({ name: 'credential_type', type: String, length: 16 })
  credentialType!: CredentialType;

  /** The credential fields as JSON, sealed with the SecretBox; null for type none. */
  @Column({ name: 'credentials_sealed', type: 'text', nullable: true })
  credentialsSealed!: string | null;

  /** `…wxyz`, shown instead of the credentials; null when there is nothing safe to show. */
  @Column({ name: 'credentials_hint', type: String, length: 16, nullable: true })
  credentialsHint!: string | null;

  /** The secret inbound webhooks are signed with, sealed; null for a provider that receives none. */
  @Column({ name: 'webhook_secret_sealed', type: 'text', nullable: true })
  webhookSecretSealed!: string | null;

  /** The secrets rotated out, newest first, each still accepted until it expires; a few at most. */
  @Column({ name: 'webhook_previous_secrets', type: 'simple-json' })
  webhookPreviousSecrets!: PreviousWebhookSecret[];

  /** While a process refreshes the OAuth token: others wait rather than spend the refresh token too. */
  @Column({ name: 'refreshing_until', type: Date, nullable: true })
  refreshingUntil!: Date | null;

  /** The days (UTC, `YYYY-MM-DD`) the OAuth token refresh failed on since it last worked. */
  @Column({ name: 'refresh_failures', type: 'simple-json', nullable: true })
  refreshFailures!: string[] | null;

  @Column({ type: 'simple-json' })
  settings!: ConnectionSettings;

  /** Set while its syncs are paused: its sync schedule does not fire and its queued runs wait. */
  @Column({ name: 'syncs_paused_at', type: Date, nullable: true })
  syncsPausedAt!: Date | null;

  @Column({ type: String, length: 24 })
  state!: ConnectionState;

  @Column({ name: 'last_error', type: 'simple-json', nullable: true })
  lastError!: ConnectionProblem | null;

  @Column({ name: 'last_used_at', type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
