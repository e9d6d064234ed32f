import { Injectable } from '@nestjs/common';

/** The time, behind an injectable so tests can control it. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
