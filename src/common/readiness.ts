import { Injectable } from '@nestjs/common';

/** One thing a module reports to `/health/ready`: its key (`amqp:orders`), whether it is up, and what to show. */
export interface ReadinessReport {
  key: string;
  up: boolean;
  details: Record<string, unknown>;
}

/**
 * What modules add to `/health/ready` beside the database and Redis (AMQP consumers, say), read
 * at each check, so the health module need not know the modules that report.
 */
@Injectable()
export class ReadinessChecks {
  private readonly sources: (() => ReadinessReport[])[] = [];

  add(source: () => ReadinessReport[]): void {
    this.sources.push(source);
  }

  reports(): ReadinessReport[] {
    return this.sources.flatMap((source) => source());
  }
}
