import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A line a handler wrote with `ctx.log()`. */
@Entity('job_log')
export class JobLog {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'text' })
  message!: string;

  @Column({ type: Date })
  at!: Date;
}
