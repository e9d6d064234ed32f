import { ProviderError } from '../http/provider-error.js';
import { classifyAmqpError, connectOptions, displayUrl } from './amqp-broker.js';
import { reconnectDelay } from './amqp-link.js';

describe('classifyAmqpError', () => {
  const replyError = (message: string, code?: number) => Object.assign(new Error(message), { code });

  it.each([
    [
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"',
      undefined,
      'AUTH',
    ],
    [
      'Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no exchange \'x\'"',
      404,
      'NOT_FOUND',
    ],
    [
      'Connection closed: 530 (NOT-ALLOWED) with message "NOT_ALLOWED - vhost nope not found"',
      undefined,
      'PERMANENT',
    ],
    ['Expected ConnectionOpenOk; got <ConnectionClose channel:0>', undefined, 'PERMANENT'],
    ['Channel closed by server: 406 (PRECONDITION-FAILED) with message "inequivalent arg"', 406, 'PERMANENT'],
    [
      'Connection closed: 320 (CONNECTION-FORCED) with message "broker forced connection closure"',
      320,
      'TEMPORARY',
    ],
    ['connect ECONNREFUSED 127.0.0.1:5672', undefined, 'TEMPORARY'],
    ['message nacked', undefined, 'TEMPORARY'],
    ['channel closed', undefined, 'TEMPORARY'],
  ])('reads "%s" (reply code %s) as %s', (message, code, expected) => {
    const error = classifyAmqpError(replyError(message, code), 'amqp://broker/');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.code).toBe(expected);
    expect(error.message.startsWith('amqp://broker/: ')).toBe(true);
  });

  it('keeps a ProviderError as it is', () => {
    const original = new ProviderError('PERMANENT', 'paused');
    expect(classifyAmqpError(original, 'x')).toBe(original);
  });

  it('writes a message on one line, so a broker cannot forge log lines', () => {
    expect(classifyAmqpError(new Error('a\nb\r\nc'), 'w').message).toBe('w: a b c');
  });
});

describe('displayUrl', () => {
  it('drops a user, a password and the query', () => {
    expect(displayUrl('amqp://me:s3cret@rabbit:5672/orders?heartbeat=10')).toBe('amqp://rabbit:5672/orders');
  });

  it('says so instead of echoing a URL it cannot read', () => {
    expect(displayUrl('not a url with s3cret')).toBe('an unreadable broker URL');
  });
});

describe('connectOptions', () => {
  it('puts basic credentials beside the URL’s parts, with the vhost encoded as amqplib decodes it', () => {
    const { url } = connectOptions(
      { url: 'amqps://rabbit.internal/%2Fprod' },
      { type: 'basic', username: 'junction', password: 'pw' },
    );
    expect(url).toMatchObject({
      protocol: 'amqps',
      hostname: 'rabbit.internal',
      port: 5671,
      vhost: '%2Fprod',
      username: 'junction',
      password: 'pw',
    });
  });

  it('uses the default vhost and the broker’s default user for none', () => {
    const { url } = connectOptions({ url: 'amqp://127.0.0.1:5673' }, { type: 'none' });
    expect(url).toMatchObject({ protocol: 'amqp', port: 5673, vhost: '/' });
    expect(url).not.toHaveProperty('password');
  });
});

describe('reconnectDelay', () => {
  it('waits 1 s after the first failure, doubling up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map(reconnectDelay)).toEqual([
      0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
