import { Injectable } from '@nestjs/common';
import { ChangeFeed } from '../../database/change-feed.js';
import type { Job } from './job.entity.js';
import type { JobStatus } from './jobs.contract.js';

/** What the live stream's `jobs` topic says of a job whose state changed. */
export interface JobChange {
  id: string;
  /** Absent where the change was made without reading the job's type (a retry of many). */
  type?: string;
  queue: string;
  status: JobStatus;
  attempt: number;
}

export const JOBS_TOPIC = 'jobs';

/** Announces committed job state changes on the change feed, when anyone can be watching. */
@Injectable()
export class JobChanges {
  constructor(private readonly feed: ChangeFeed) {}

  /** Builds the changes only when they can reach someone: the ledger's hot path calls this. */
  announce(build: () => JobChange[]): void {
    if (!this.feed.active) return;
    this.feed.publish(build().map((data) => ({ topic: JOBS_TOPIC, key: data.id, data: { ...data } })));
  }
}

export function changeOf(job: Job, status: JobStatus = job.status): JobChange {
  return { id: job.id, type: job.type, queue: job.queue, status, attempt: job.attempt };
}
