import { Webhook } from 'standardwebhooks';
import { newSigningSecret, signatureHeader, validSecrets } from './webhook-signature.js';

describe('webhook signatures', () => {
  it('makes secrets of whsec_ and 24 random bytes in base64', () => {
    const secret = newSigningSecret();

    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(newSigningSecret()).not.toBe(secret);
  });

  it('signs as the standardwebhooks package does, one v1 signature per secret', () => {
    const [a, b] = [newSigningSecret(), newSigningSecret()];
    const at = new Date('2026-12-01T10:00:00Z');
    const body = '{"type":"order.created"}';

    const header = signatureHeader([a, b], 'msg_1', at.getTime() / 1000, body);

    expect(header.split(' ')).toEqual([
      new Webhook(a).sign('msg_1', at, body),
      new Webhook(b).sign('msg_1', at, body),
    ]);
  });

  it('keeps a previous secret signing until it expires', () => {
    const secrets = [{ secret: 'new' }, { secret: 'old', expiresAt: '2026-12-02T10:00:00.000Z' }];

    expect(validSecrets(secrets, new Date('2026-12-02T09:59:59Z'))).toEqual(['new', 'old']);
    expect(validSecrets(secrets, new Date('2026-12-02T10:00:00Z'))).toEqual(['new']);
  });
});
