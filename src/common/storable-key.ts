import { createHash } from 'node:crypto';

/** The longest key an event or a job holds (their key columns are varchar(300)). */
export const MAX_KEY_LENGTH = 300;

/** Control characters (PostgreSQL refuses a NUL in text) and lone UTF-16 surrogates (stored as U+FFFD, so two ids would meet). */
const UNFIT = /[\p{Cc}\p{Cs}]/u;

/**
 * A key made from what others sent (an AMQP `messageId` or a webhook's delivery id as an event's
 * idempotency key, a job's concurrency key rendered from event data): the key itself when the
 * column can hold it as it is, else `sha256:` and the hex hash of it. The same key always gives
 * the same result, so a redelivery is still a duplicate, and two keys stay two.
 */
export function storableKey(key: string): string {
  return key.length <= MAX_KEY_LENGTH && !UNFIT.test(key)
    ? key
    : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
