import { Injectable } from '@nestjs/common';
import type { Purpose } from './reservation-request.entity.js';
import type { PurposeCheck } from './reservations.contract.js';

/**
 * The purpose types some planner can plan, with each one's check, registered by the planner
 * module at boot. A request whose purpose no planner knows, or whose planner finds it wrong, is
 * refused when it is created instead of being reserved for nothing.
 */
@Injectable()
export class PurposeTypes {
  private readonly checks = new Map<string, PurposeCheck>();

  register(type: string, check: PurposeCheck = () => []): void {
    this.checks.set(type, check);
  }

  list(): string[] {
    return [...this.checks.keys()].sort();
  }

  /** What is wrong with a purpose; empty when a planner can plan it. */
  problems(purpose: Purpose): string[] {
    const check = this.checks.get(purpose.type);
    if (!check) return [`no planner plans purpose ${purpose.type}; known: ${this.list().join(', ')}`];
    return check(purpose);
  }
}
