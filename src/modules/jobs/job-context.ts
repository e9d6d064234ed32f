/** What a job handler receives. */
export interface JobContext<Payload = unknown> {
  jobId: string;
  type: string;
  payload: Payload;
  /** 1 on the first try. */
  attempt: number;
  maxAttempts: number;
  /** Pass it to the partner so work repeated after a crash is not done twice. */
  idempotencyKey: string | null;
  /** The event whose route started the job; null for a job enqueued otherwise. */
  eventId: string | null;
  /** Aborts on timeout, on cancel, and when this worker lost the job's lease. */
  signal: AbortSignal;
  /** Records progress, such as a percentage. */
  progress(value: number): Promise<void>;
  /**
   * Adds a line to the job's log. The line is written with the attempt's outcome, in the same
   * transaction (or within a second, while the attempt still runs); it resolves at once.
   */
  log(message: string): Promise<void>;
  /**
   * Runs `work` once per job: its result is stored, and a retried job gets the stored result back
   * instead of running it again, so a flow resumes after its last completed step.
   */
  step<T>(name: string, work: () => Promise<T>): Promise<T>;
}
