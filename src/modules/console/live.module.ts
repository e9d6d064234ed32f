import { Module } from '@nestjs/common';
import { LiveStreamController } from './live-stream.controller.js';
import { LiveStreamService } from './live-stream.service.js';

/** The dashboard's live stream: committed changes of jobs, sync runs and deliveries. */
@Module({
  controllers: [LiveStreamController],
  providers: [LiveStreamService],
})
export class LiveModule {}
