import Fastify from 'fastify';
import { Clock } from '../../common/clock.js';
import { Tracing } from '../../common/tracing/tracing.js';
import { loadConfig } from '../../config/load-config.js';
import { PartnerHttpClient } from '../providers/providers.contract.js';
import { WebhookSender } from './webhook-sender.service.js';
import type { SendOutcome } from './webhook-sender.service.js';

/** How the receiver answers a path: a status, a content type, a body and headers. */
interface Answer {
  status: number;
  type?: string;
  body?: string;
  headers?: Record<string, string>;
}

describe('WebhookSender', () => {
  const receiver = Fastify();
  const answers = new Map<string, Answer>();
  const http = new PartnerHttpClient(new Clock(), Tracing.off());
  const sender = new WebhookSender(
    http,
    new Clock(),
    Tracing.off(),
    loadConfig({ JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true' }),
  );
  let base = '';

  beforeAll(async () => {
    receiver.post('/*', (request, reply) => {
      const answer = answers.get(request.url)!;
      return reply
        .code(answer.status)
        .headers(answer.headers ?? {})
        .type(answer.type ?? 'application/json')
        .send(answer.body ?? '');
    });
    await receiver.listen({ host: '127.0.0.1', port: 0 });
    const address = receiver.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await sender.onModuleDestroy();
    await http.onModuleDestroy();
    await receiver.close();
  });

  const send = (path: string, answer: Answer): Promise<SendOutcome> => {
    answers.set(path, answer);
    return sender.send({
      url: `${base}${path}`,
      headers: {},
      secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      messageId: 'msg_1',
      body: '{"type":"order.created"}',
      // The call's log line goes here rather than to the console.
      log: () => Promise.resolve(),
    });
  };

  it('succeeds on a 2xx whose body is not the JSON its content type claims', async () => {
    const outcome = await send('/not-json', { status: 200, body: '<html>thanks</html>' });

    expect(outcome).toMatchObject({
      ok: true,
      statusCode: 200,
      response: '<html>thanks</html>',
      error: null,
    });
  });

  it('succeeds on a 2xx whose body is over the client size cap, keeping no excerpt of it', async () => {
    const outcome = await send('/large', { status: 202, type: 'text/plain', body: 'x'.repeat(1_200_000) });

    expect(outcome).toMatchObject({ ok: true, statusCode: 202, error: null, code: null });
  });

  it('keeps only the first 1 KB of a 2xx body', async () => {
    const outcome = await send('/long', { status: 200, type: 'text/plain', body: 'y'.repeat(5000) });

    expect(outcome).toMatchObject({ ok: true, response: 'y'.repeat(1024) });
  });

  it('fails a 3xx, which is not followed', async () => {
    const outcome = await send('/moved', { status: 301, headers: { location: '/elsewhere' } });

    expect(outcome).toMatchObject({ ok: false, statusCode: 301, code: 'PERMANENT' });
  });

  it('gives no wait of its own for a 429 without Retry-After, so the retry schedule applies', async () => {
    const outcome = await send('/busy', { status: 429 });

    expect(outcome).toMatchObject({ ok: false, statusCode: 429, code: 'RATE_LIMITED', retryAfterMs: null });
  });

  it('gives the wait of a 429 with Retry-After', async () => {
    const outcome = await send('/busy-1s', { status: 429, headers: { 'retry-after': '1' } });

    expect(outcome).toMatchObject({ ok: false, code: 'RATE_LIMITED', retryAfterMs: 1000 });
  });

  it('gives the wait of a 503 with Retry-After, and none without', async () => {
    const told = await send('/down-told', { status: 503, headers: { 'retry-after': '7' } });
    const untold = await send('/down', { status: 503 });

    expect(told).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 7000 });
    expect(untold).toMatchObject({ code: 'TEMPORARY', retryAfterMs: null });
  });
});
