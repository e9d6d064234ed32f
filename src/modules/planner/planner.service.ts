import { Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Alarm } from '../../common/alarm.js';
import { Clock } from '../../common/clock.js';
import { newId } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import { WriteSerializer } from '../../database/write-serializer.js';
import { ReservationRequestsService } from '../reservations/reservation-requests.service.js';
import type { ClaimedRequest } from '../reservations/reservations.contract.js';
import { ReserverService } from '../reservations/reserver.service.js';
import { OperationsService } from './operations.service.js';
import { PlannerError } from './planner.error.js';
import { PlanningContext } from './planning-context.js';
import { PurposePlannerRegistry } from './purpose-planner.registry.js';

const IDLE_BACKOFF_MAX_MS = 1000;
/** A request whose planning failed waits this long before a planner tries it again. */
const RETRY_AFTER_FAILURE_MS = 5000;

/**
 * The planner role: JUNCTION_PLANNERS loops, each claiming one reserved request at a time
 * (PostgreSQL FOR UPDATE SKIP LOCKED, SQLite an atomic update), running the planner of its purpose
 * in one transaction with the operations it creates, and marking it planned. A claim lasts
 * JUNCTION_PLAN_CLAIM_MS, so the request of a planner that died is planned by another.
 */
@Injectable()
export class PlannerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Planner');
  private readonly loops: Promise<void>[] = [];
  private readonly alarms: Alarm[] = [];
  private active = false;
  /** Requests this process planned, for logs and tests. */
  planned = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly serializer: WriteSerializer,
    private readonly clock: Clock,
    private readonly requests: ReservationRequestsService,
    private readonly operations: OperationsService,
    private readonly registry: PurposePlannerRegistry,
    reserver: ReserverService,
  ) {
    reserver.onReserved(() => this.wake());
  }

  onApplicationBootstrap(): void {
    if (!this.config.hasRole('planner')) return;
    this.active = true;
    for (let i = 0; i < this.config.reservations.planners; i++) this.loops.push(this.loop());
  }

  async onModuleDestroy(): Promise<void> {
    this.active = false;
    this.wake();
    await Promise.allSettled(this.loops);
  }

  wake(): void {
    for (const alarm of this.alarms) alarm.wake();
  }

  /** Claims and plans one request; false when none was waiting. */
  async planNext(): Promise<boolean> {
    const token = newId();
    const request = await this.requests.claimNext(token, this.config.reservations.planClaimMs);
    if (!request) return false;
    try {
      await this.plan(request, token);
      this.planned++;
    } catch (error) {
      this.logger.error(`planning request ${request.id} (${request.purposeType}) failed: ${String(error)}`);
      await this.requests.deferClaim(request.id, token, RETRY_AFTER_FAILURE_MS);
    }
    return true;
  }

  private async plan(request: ClaimedRequest, token: string): Promise<void> {
    const planner = this.registry.plannerOf(request.purposeType);
    if (!planner) throw new Error(`no planner for purpose ${request.purposeType} in this process`);
    await this.serializer.transaction(async (manager) => {
      if (!(await this.requests.holdsClaim(manager, request.id, token))) {
        throw new PlannerError('CLAIM_LOST', `the claim on request ${request.id} expired before planning`);
      }
      const context = new PlanningContext(
        manager,
        await this.requests.forPlanning(manager, request.id),
        { requestId: request.id, token },
        this.operations,
        this.clock.now(),
      );
      await planner(context);
      await this.requests.markPlanned(
        manager,
        request.id,
        context.operations.map((o) => o.id),
      );
      // A purpose that needs no operations leaves the request done at once.
      if (context.operations.length === 0) await this.requests.complete(manager, request.id);
    });
  }

  private async loop(): Promise<void> {
    const alarm = new Alarm();
    this.alarms.push(alarm);
    let idleMs = 0;
    while (this.active) {
      try {
        if (await this.planNext()) {
          idleMs = 0;
          continue;
        }
      } catch (error) {
        this.logger.error(`claiming a request failed: ${String(error)}`);
      }
      idleMs = Math.min(Math.max(idleMs * 2, 10), IDLE_BACKOFF_MAX_MS);
      await alarm.sleep(idleMs);
    }
  }
}
