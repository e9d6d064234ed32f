import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { CreateEventDto } from './dto/event-requests.dto.js';
import { EventError } from './event.error.js';

/** An event as its sender describes it. */
export interface EventInput {
  name: string;
  source: string;
  data?: unknown;
  idempotencyKey?: string;
  occurredAt?: Date;
}

/** Checks one item of a batch as the ValidationPipe checks POST /events, as an error of its own. */
export async function readEventInput(raw: unknown): Promise<EventInput> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EventError('INVALID_EVENT', 'each event must be an object');
  }
  const dto = plainToInstance(CreateEventDto, raw);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const problems = errors.flatMap((error) => Object.values(error.constraints ?? {}));
    throw new EventError('INVALID_EVENT', problems.join('; '), problems);
  }
  return dto;
}
