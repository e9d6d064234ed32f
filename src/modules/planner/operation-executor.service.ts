import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { OperationsService } from './operations.service.js';

const DUE_PER_ROUND = 200;

/**
 * Part of the planner role: every JUNCTION_EXECUTOR_MS it executes the planned operations that are
 * due and whose input is present, arrivals included. Execution is a compare-and-set on the
 * operation's state, so several processes may run it.
 */
@Injectable()
export class OperationExecutor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Executor');
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<number> | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly operations: OperationsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.hasRole('planner')) return;
    this.timer = setInterval(() => {
      if (this.round) return;
      this.round = this.runDue(this.clock.now())
        .catch((error: unknown) => {
          this.logger.error(`executing due operations failed: ${String(error)}`);
          return 0;
        })
        .finally(() => (this.round = undefined));
    }, this.config.reservations.executorMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  /** Executes what is due by `now`, until nothing is; returns how many operations it executed. */
  async runDue(now: Date): Promise<number> {
    let executed = 0;
    for (;;) {
      const due = await this.operations.due(now, DUE_PER_ROUND);
      if (due.length === 0) return executed;
      for (const id of due) {
        await this.operations.execute(id);
        executed++;
      }
    }
  }
}
