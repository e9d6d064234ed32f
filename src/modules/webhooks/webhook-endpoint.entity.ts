import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RateLimit } from '../providers/providers.contract.js';

/** A team's service that receives Junction's events, signed with the endpoint's secret. */
@Entity('webhook_endpoint')
export class WebhookEndpoint {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text' })
  url!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ name: 'event_patterns', type: 'simple-json' })
  eventPatterns!: string[];

  /** A MongoDB-style query over the event, as routes have; null lets every matching event through. */
  @Column({ type: 'simple-json', nullable: true })
  filter!: Record<string, unknown> | null;

  /** Sent with every delivery; their values may be credentials, so they are sealed like the secret. */
  @Column({ name: 'headers_sealed', type: 'text', nullable: true })
  headersSealed!: string | null;

  /** At most this many requests per `perMs` to the endpoint, across processes; null: no limit. */
  @Column({ name: 'rate_limit', type: 'simple-json', nullable: true })
  rateLimit!: RateLimit | null;

  /** Deliveries run one at a time, in event order. */
  @Column({ type: Boolean })
  ordered!: boolean;

  @Column({ type: Boolean })
  enabled!: boolean;

  /** Why Junction disabled it (410 Gone, failing too long); null when enabled or disabled by a person. */
  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason!: string | null;

  /** The signing secrets as JSON (`SigningSecret[]`), sealed with the SecretBox. */
  @Column({ name: 'secrets_sealed', type: 'text' })
  secretsSealed!: string;

  /** The first failure since the last success; null while deliveries succeed. */
  @Column({ name: 'failing_since', type: Date, nullable: true })
  failingSince!: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
