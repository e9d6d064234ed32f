import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';

/** This process as the owner of the job leases it holds. */
@Injectable()
export class LeaseOwner {
  /** Written into `job.lease_owner`: unique per process, readable in the ledger. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(private readonly config: AppConfig) {}

  /** When a lease taken or renewed at `now` runs out. */
  leaseEnd(now: Date): Date {
    return new Date(now.getTime() + this.config.jobs.leaseMs);
  }
}
