import { Column, Entity, PrimaryColumn } from 'typeorm';

/** `deferred`: the job was put back before doing its work (a rate budget was spent); it does not count as a failure. */
export const ATTEMPT_OUTCOMES = [
  'running',
  'succeeded',
  'failed',
  'deferred',
  'cancelled',
  'interrupted',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One try at a job: who ran it, when, and how it ended. */
@Entity('job_attempt')
export class JobAttempt {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: String, length: 200 })
  worker!: string;

  @Column({ type: String, length: 16 })
  outcome!: AttemptOutcome;

  @Column({ name: 'error_code', type: String, length: 100, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'error_stack', type: 'text', nullable: true })
  errorStack!: string | null;

  @Column({ name: 'started_at', type: Date })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;
}
