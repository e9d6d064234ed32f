import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A step of a job that completed; a retry returns its stored result instead of running it again. */
@Entity('job_step')
export class JobStep {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ type: String, length: 200 })
  name!: string;

  @Column({ type: 'simple-json', nullable: true })
  result!: unknown;

  /** The attempt that completed it. */
  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ name: 'completed_at', type: Date })
  completedAt!: Date;
}
