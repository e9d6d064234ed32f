import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ScheduleRunner } from './schedule-runner.service.js';
import { Schedule } from './schedule.entity.js';
import { ScheduleStore } from './schedule.store.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesService } from './schedules.service.js';

/**
 * Schedules: jobs enqueued on a clock, and the built-in retention schedule. The retention job's
 * handler lives in the events module, which owns the data it purges.
 */
@Module({
  imports: [ScheduleModule.forRoot(), TypeOrmModule.forFeature([Schedule])],
  controllers: [SchedulesController],
  providers: [ScheduleStore, SchedulesService, ScheduleRunner],
  exports: [SchedulesService],
})
export class SchedulesModule {}
