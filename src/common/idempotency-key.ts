import { createHash } from 'node:crypto';

/** The longest idempotency key an event holds (its column is varchar(300)). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 300;

/** Control characters (PostgreSQL refuses a NUL in text) and lone UTF-16 surrogates (stored as U+FFFD, so two ids would meet). */
const UNFIT = /[\p{Cc}\p{Cs}]/u;

/**
 * A sender's id for what it sent (an AMQP `messageId`, a webhook's delivery id) as an event's
 * idempotency key: the id itself when the column can hold it as it is, else `sha256:` and the hex
 * hash of it. The same id always gives the same key, so a redelivery is still a duplicate.
 */
export function idempotencyKeyOf(id: string): string {
  return id.length <= MAX_IDEMPOTENCY_KEY_LENGTH && !UNFIT.test(id)
    ? id
    : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}
