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

/** JSON's media type, or one with JSON's structured suffix (RFC 6839): `application/vnd.github+json`. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.!#$&^-]+\+)?json$/;
const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/**
 * The payload: JSON, or a form whose `payload` field holds JSON (GitHub's option), or the form's
 * fields; an empty body is `{}`. Any other media type is unreadable. Call it only once the
 * signature is verified, so an unsigned body is never read.
 */
export function readPayload(request: InboundWebhook): unknown {
  // A byte-order mark some senders write first is no part of the JSON (RFC 8259 lets a reader skip it).
  const text = request.rawBody.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return {};
  const isForm = request.contentType === FORM_MEDIA_TYPE;
  if (!isForm && !JSON_MEDIA_TYPE.test(request.contentType)) {
    throw new WebhookUnreadable(
      `a body of type ${request.contentType || '(none)'} is neither JSON nor a form`,
    );
  }
  try {
    if (!isForm) return parseJson(text);
    const form = new URLSearchParams(text);
    const payload = form.get('payload');
    return payload === null ? withoutPrototypeKeys(Object.fromEntries(form)) : parseJson(payload);
  } catch {
    throw new WebhookUnreadable(`the body is not ${isForm ? 'a form with JSON in payload' : 'JSON'}`);
  }
}

const MAY_HOLD_PROTOTYPE_KEY = /__proto__|constructor|\\u/;

/**
 * JSON without the keys that would replace an object's prototype if the payload were ever merged
 * into another object (`__proto__`, and `constructor` holding `prototype`). They are dropped, not
 * refused: the delivery is genuine (its signature is verified), and refusing it would lose it at
 * each of the sender's retries; the keys carry no data.
 */
function parseJson(text: string): unknown {
  // The reviver costs a call per value: only for a text that may hold such a key, as written or
  // spelled with escapes.
  if (!MAY_HOLD_PROTOTYPE_KEY.test(text)) return JSON.parse(text);
  return JSON.parse(text, (key, value: unknown) => (isPrototypeKey(key, value) ? undefined : value));
}

function withoutPrototypeKeys(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([key, value]) => !isPrototypeKey(key, value)));
}

function isPrototypeKey(key: string, value: unknown): boolean {
  return (
    key === '__proto__' ||
    (key === 'constructor' &&
      typeof value === 'object' &&
      value !== null &&
      Object.hasOwn(value, 'prototype'))
  );
}
