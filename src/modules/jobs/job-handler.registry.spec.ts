import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { JobHandler } from './job-handler.decorator.js';
import { JobHandlerRegistry } from './job-handler.registry.js';
import { JobPayloadCheck } from './job-payload-check.decorator.js';
import type { JobPayloadProblem } from './job-payload-check.decorator.js';

@Injectable()
class OrderHandler {
  readonly known = new Set(['A-1']);

  @JobHandler('test.push-order')
  push(): Promise<void> {
    return Promise.resolve();
  }

  // Runs on the instance, so it can reach what the class was given.
  @JobPayloadCheck('test.push-order')
  check(payload: unknown): JobPayloadProblem[] {
    const { orderId } = payload as { orderId?: string };
    return orderId === undefined || this.known.has(orderId)
      ? []
      : [{ path: 'orderId', message: `no order ${orderId}` }];
  }
}

@Injectable()
class SecondOrderCheck {
  @JobPayloadCheck('test.push-order')
  check(): Promise<JobPayloadProblem[]> {
    return Promise.resolve([]);
  }
}

@Injectable()
class OrphanCheck {
  @JobPayloadCheck('test.nobody-handles')
  check(): JobPayloadProblem[] {
    return [];
  }
}

@Injectable()
class PlainHandler {
  @JobHandler('test.plain')
  run(): Promise<void> {
    return Promise.resolve();
  }
}

async function boot(...providers: (new () => object)[]): Promise<JobHandlerRegistry> {
  const module = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [JobHandlerRegistry, ...providers],
  }).compile();
  await module.init();
  return module.get(JobHandlerRegistry);
}

describe('JobHandlerRegistry payload checks', () => {
  it('finds a @JobPayloadCheck at boot and runs it on the instance, for its job type only', async () => {
    const registry = await boot(OrderHandler, PlainHandler);
    const check = registry.find('test.push-order')!.checkPayload!;
    await expect(check({ orderId: 'A-1' })).resolves.toEqual([]);
    await expect(check({ orderId: 'B-2' })).resolves.toEqual([{ path: 'orderId', message: 'no order B-2' }]);
    expect(registry.find('test.plain')!.checkPayload).toBeNull();
  });

  it('stops the boot when one job type has two payload checks, naming both', async () => {
    await expect(boot(OrderHandler, SecondOrderCheck)).rejects.toThrow(
      'job type "test.push-order" has two payload checks: OrderHandler.check and SecondOrderCheck.check',
    );
  });

  it('stops the boot when a payload check names a job type without a handler', async () => {
    await expect(boot(PlainHandler, OrphanCheck)).rejects.toThrow(
      'job type "test.nobody-handles" has a @JobPayloadCheck (OrphanCheck.check) but no @JobHandler',
    );
  });
});
