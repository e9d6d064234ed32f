import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A signing secret and, for the previous one during a rotation, when it stops signing. */
export interface SigningSecret {
  secret: string;
  /** ISO time; absent for the current secret. */
  expiresAt?: string;
}

/** `whsec_` and 24 random bytes in base64, as Standard Webhooks' libraries expect. */
export function newSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

/** The secrets that sign at `now`: the current one, and each previous one until it expires. */
export function validSecrets(secrets: readonly SigningSecret[], now: Date): string[] {
  return secrets.filter((s) => s.expiresAt === undefined || signsAt(s.expiresAt, now)).map((s) => s.secret);
}

/** The rotated-out secrets that still sign at `now`, newest (latest to expire) first. */
export function previousSecrets(
  secrets: readonly SigningSecret[],
  now: Date,
): { secret: string; expiresAt: string }[] {
  return secrets
    .flatMap(({ secret, expiresAt }) =>
      expiresAt !== undefined && signsAt(expiresAt, now) ? [{ secret, expiresAt }] : [],
    )
    .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
}

function signsAt(expiresAt: string, now: Date): boolean {
  return Date.parse(expiresAt) > now.getTime();
}

/**
 * The `webhook-signature` header of Standard Webhooks: `v1,<base64 HMAC-SHA256>` over
 * `id.timestamp.body` with each secret's decoded key, separated by spaces.
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(
        secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
        'base64',
      );
      return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
    })
    .join(' ');
}
