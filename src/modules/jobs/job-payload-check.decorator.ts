import { SetMetadata } from '@nestjs/common';

export const JOB_PAYLOAD_CHECK_METADATA = 'junction:job-payload-check';

/**
 * One thing wrong with a payload that its payload class cannot see (it names something that does
 * not exist): `path` is the field within the payload, dotted (`action`, `input.orderId`).
 */
export interface JobPayloadProblem {
  path: string;
  message: string;
}

/**
 * Marks a provider method as the payload check of one job type: it is run before a job of that
 * type is stored, and before a route or schedule that names the type is saved, so a payload that
 * could never work is refused (422, naming the field) instead of failing when the job runs. It
 * receives the payload and answers its problems, none when it is fine.
 *
 * It checks only the fields it finds: the payload class already checked what must be there, and
 * a route's template leaves out the fields that come from the event. A check declared twice for
 * one type, or for a type without a handler, stops the boot.
 */
export const JobPayloadCheck = (type: string): MethodDecorator =>
  SetMetadata<string, string>(JOB_PAYLOAD_CHECK_METADATA, type);
