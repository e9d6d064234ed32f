import { Injectable, Module } from '@nestjs/common';
import type { JobContext } from '../../src/modules/jobs/jobs.contract.js';
import { JobHandler } from '../../src/modules/jobs/jobs.contract.js';

/** A job handler with a route declared in code. */
@Injectable()
export class TestEventHandlers {
  @JobHandler('test.on-shipment', { on: ['shipment.*', 'parcel.**'] })
  onShipment(ctx: JobContext<{ name: string; data: unknown }>): Promise<string> {
    return Promise.resolve(`saw ${ctx.payload.name}`);
  }
}

@Module({ providers: [TestEventHandlers] })
export class TestEventHandlersModule {}
