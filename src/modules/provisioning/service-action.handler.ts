import { Injectable } from '@nestjs/common';
import { JobHandler } from '../jobs/jobs.contract.js';
import type { JobContext } from '../jobs/jobs.contract.js';
import { ServiceActionDto } from './dto/provisioning-requests.dto.js';
import { PROVISIONING_JOBS, ProvisioningService } from './provisioning.service.js';
import { ProvisioningStore } from './provisioning.store.js';

/** The admin's bulk actions walk services this many at a time, like the seed. */
const PAGE = 10;

export interface ServiceActionResult {
  action: 'enable' | 'disable';
  done: number;
  failed: { serviceId: string; reason: string }[];
}

/**
 * `provisioning.service-action`: enables or disables a project's services, or those listed, in
 * pages of ten. A service that cannot be changed is logged with the reason and the walk goes on;
 * the result lists every one that failed.
 */
@Injectable()
export class ServiceActionHandler {
  constructor(
    private readonly store: ProvisioningStore,
    private readonly provisioning: ProvisioningService,
  ) {}

  @JobHandler(PROVISIONING_JOBS.action, { queue: 'provisioning', maxAttempts: 3, payload: ServiceActionDto })
  async run(ctx: JobContext<ServiceActionDto>): Promise<ServiceActionResult> {
    const { action, projectId, serviceIds } = ctx.payload;
    const result: ServiceActionResult = { action, done: 0, failed: [] };
    const status = action === 'enable' ? 'enabled' : 'disabled';
    const apply = async (serviceId: string) => {
      try {
        await this.provisioning.setOperatorStatus(serviceId, status);
        result.done++;
      } catch (error) {
        const reason = (error as Error).message;
        await ctx.log(`${action} ${serviceId} failed: ${reason}`);
        result.failed.push({ serviceId, reason });
      }
    };
    if (serviceIds !== undefined) {
      for (let start = 0; start < serviceIds.length; start += PAGE) {
        for (const id of serviceIds.slice(start, start + PAGE)) await apply(id);
        await ctx.progress(Math.min(start + PAGE, serviceIds.length) / serviceIds.length);
      }
      return result;
    }
    let cursor: string | undefined;
    do {
      const page = await this.store.services({ projectId }, PAGE, cursor);
      for (const service of page.items) await apply(service.id);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return result;
  }
}
