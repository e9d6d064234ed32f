import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Options of the jobs a route starts; string values may hold `{{path}}` templates. */
export interface RouteJobOptions {
  priority?: number;
  delayMs?: number;
  maxAttempts?: number;
  /** A template such as `{{data.accountId}}`, rendered against the event. */
  concurrencyKey?: string;
}

/** Turns matching events into jobs: one job per matching route per event. */
@Entity('route')
export class Route {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: String, length: 200 })
  name!: string;

  /** A glob over dot-separated names: `*` is one segment, `**` one or more. */
  @Column({ name: 'event_pattern', type: String, length: 200 })
  eventPattern!: string;

  /** A MongoDB-style query on the event; null matches every event of the pattern. */
  @Column({ type: 'simple-json', nullable: true })
  filter!: Record<string, unknown> | null;

  @Column({ name: 'job_type', type: String, length: 200 })
  jobType!: string;

  /** The job's payload, with `{{path}}` placeholders; null passes the whole event. */
  @Column({ name: 'payload_template', type: 'simple-json', nullable: true })
  payloadTemplate!: unknown;

  @Column({ name: 'job_options', type: 'simple-json' })
  jobOptions!: RouteJobOptions;

  @Column({ type: Boolean })
  enabled!: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
