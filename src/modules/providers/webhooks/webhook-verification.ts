import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** An inbound webhook as it was received: the exact bytes, the headers (lowercase names) and the query. */
export interface InboundWebhook {
  headers: Record<string, string | undefined>;
  /**
   * The URL's query parameters, the first value of a repeated one: for a sender that cannot sign
   * and carries a secret token in the URL instead (Jenkins' Notification plugin).
   */
  query: Record<string, string | undefined>;
  rawBody: Buffer;
  /** The media type, lowercase, without parameters: `application/json`. */
  contentType: string;
}

/** What a verifier gets beside the request: the secrets that may have signed it, the connection's config, the time. */
export interface WebhookVerifyContext {
  /** The current secret first, then the previous one while it is still accepted. */
  secrets: string[];
  config: Record<string, unknown>;
  now: Date;
}

/** A verified delivery: an event to store, or a message to acknowledge and drop (a ping). */
export type VerifiedWebhook =
  | { kind: 'event'; name: string; deliveryId: string | null; data: unknown }
  | { kind: 'ignored'; reason: string };

/** The signature is missing, wrong or stale; the delivery is answered 401 and nothing is stored. */
export class WebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookRefused';
  }
}

/** The body could not be read as JSON or as a form; answered 400. */
export class WebhookUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUnreadable';
  }
}

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** A new webhook signing secret: `whsec_` and 32 random bytes in base64, the Standard Webhooks form. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function hmac(
  algorithm: HmacAlgorithm,
  key: string | Buffer,
  content: string | Buffer,
  encoding: 'hex' | 'base64',
): string {
  return createHmac(algorithm, key).update(content).digest(encoding);
}

/** Compares in time that does not depend on where they differ, so a signature cannot be guessed byte by byte. */
export function sameSignature(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether any signature the sender gave is one of those the secrets give. */
export function anySignatureMatches(given: string[], expected: string[]): boolean {
  return given.some((signature) => expected.some((valid) => sameSignature(signature, valid)));
}

/** Refuses a timestamp (seconds since 1970) further than `toleranceSeconds` from now, either way. */
export function assertFresh(timestamp: string | undefined, now: Date, toleranceSeconds: number): number {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp.trim())) {
    throw new WebhookRefused('the signature timestamp is missing or not a number of seconds');
  }
  const seconds = Number(timestamp.trim());
  if (Math.abs(now.getTime() / 1000 - seconds) > toleranceSeconds) {
    throw new WebhookRefused(`the signature timestamp is more than ${toleranceSeconds} s from now`);
  }
  return seconds;
}

/** The payload: JSON, or a form whose `payload` field holds JSON (GitHub's option), or the form's fields. */
export function readPayload(request: InboundWebhook): unknown {
  const text = request.rawBody.toString('utf8');
  try {
    if (request.contentType === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(text);
      const payload = form.get('payload');
      return payload === null ? Object.fromEntries(form) : (JSON.parse(payload) as unknown);
    }
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new WebhookUnreadable(
      `the body is not ${request.contentType === 'application/x-www-form-urlencoded' ? 'a form with JSON in payload' : 'JSON'}`,
    );
  }
}
