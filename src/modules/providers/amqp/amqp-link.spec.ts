import { ProviderError } from '../http/provider-error.js';
import { AmqpLink } from './amqp-link.js';

/** A link to a port nothing listens on: every try is refused at once. */
function unreachable(now: () => number): AmqpLink {
  return new AmqpLink(
    {
      connectionId: 'c1',
      display: 'amqp://127.0.0.1:1/',
      options: { protocol: 'amqp', hostname: '127.0.0.1', port: 1, vhost: '/' },
      clientName: 'junction test',
    },
    now,
  );
}

async function failure(work: Promise<unknown>): Promise<ProviderError> {
  const error = await work.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('AmqpLink', () => {
  it('fails TEMPORARY when the broker cannot be reached, then defers without trying until its backoff passes', async () => {
    let now = 1_000_000;
    const link = unreachable(() => now);

    const first = await failure(link.confirmChannel());
    expect(first.code).toBe('TEMPORARY');
    expect(first.message).toContain('amqp://127.0.0.1:1/');
    expect(link.waitBeforeConnect()).toBe(1000);

    const waiting = await failure(link.confirmChannel());
    expect(waiting).toMatchObject({ code: 'DEFERRED', retryAfterMs: 1000 });

    now += 1000;
    expect((await failure(link.channel())).code).toBe('TEMPORARY');
    expect(link.waitBeforeConnect()).toBe(2000);
    now += 500;
    expect(await failure(link.channel())).toMatchObject({ code: 'DEFERRED', retryAfterMs: 1500 });
    await link.close();
  });

  it('tries no more once closed', async () => {
    const link = unreachable(() => 0);
    await link.close();
    expect((await failure(link.connection())).message).toContain('closed');
  });
});
