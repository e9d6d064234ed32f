import { jest } from '@jest/globals';
import { createHmac, randomUUID } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock.js';
import { SecretBox } from '../src/common/crypto/secret-box.js';
import { rawSql } from '../src/database/raw-sql.js';
import { WriteSerializer } from '../src/database/write-serializer.js';
import { ADMIN_KEY, bearer, jobEnded, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { TestDatabase } from './support/test-database.js';
import { TestJobsModule } from './support/test-jobs.module.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);

interface Created {
  id: string;
  webhookUrl: string;
  webhookSecret: string;
}

interface EventBody {
  id: string;
  name: string;
  source: string;
  idempotencyKey: string;
  data: Record<string, unknown>;
}

/** Partners push signed webhooks; only a valid signature on the exact bytes is trusted. */
describe('inbound webhooks', () => {
  let t: TestApp;
  let serial = 0;

  beforeAll(async () => {
    t = await startTestApp({
      env: { JUNCTION_PUBLIC_URL: 'https://junction.example.com/' },
      features: [TestJobsModule],
    });
  });
  afterAll(async () => {
    await t.close();
  });
  afterEach(() => jest.restoreAllMocks());

  async function connect(provider: string, config: Record<string, unknown> = {}): Promise<Created> {
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({ provider, name: `${provider}-${++serial}`, config, credentials: { type: 'none' } })
      .expect(201);
    return created.body as Created;
  }

  const deliver = (id: string, body: string | Buffer, headers: Record<string, string>) =>
    t
      .http()
      .post(`/webhooks/${id}`)
      .set({ 'content-type': 'application/json', ...headers })
      .send(body);

  async function eventsOf(connectionId: string): Promise<EventBody[]> {
    const source = encodeURIComponent(`connection:${connectionId}`);
    return (await t.http().get(`/events?source=${source}&limit=200`).set(admin).expect(200)).body
      .items as EventBody[];
  }

  /** How many deliveries `/metrics` counts for a provider and result. */
  async function counted(provider: string, result: string): Promise<number> {
    const text = (await t.http().get('/metrics').set(admin).expect(200)).text;
    const line = new RegExp(
      `^junction_webhooks_received_total\\{provider="${provider}",result="${result}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return line ? Number(line[1]) : 0;
  }

  const githubHeaders = async (
    secret: string,
    body: string,
    event: string,
    delivery: string = randomUUID(),
  ) => ({
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature-256': await githubSign(secret, body),
  });

  describe('github', () => {
    it('shows the secret once and the webhook URL, and never the secret again', async () => {
      const created = await connect('github');
      expect(created.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(created.webhookUrl).toBe(`https://junction.example.com/webhooks/${created.id}`);
      const shown = await t.http().get(`/connections/${created.id}`).set(admin).expect(200);
      expect(shown.body.webhookUrl).toBe(created.webhookUrl);
      expect(JSON.stringify(shown.body)).not.toContain(created.webhookSecret);
      const listed = await t.http().get('/connections?provider=github').set(admin).expect(200);
      expect(JSON.stringify(listed.body)).not.toContain(created.webhookSecret);
    });

    it('stores a signed delivery as a routed event, once, and answers a redelivery as a duplicate', async () => {
      const { id, webhookSecret } = await connect('github');
      await t
        .http()
        .post('/routes')
        .set(admin)
        .send({ name: `github ${id}`, eventPattern: 'github.pull_request.*', jobType: 'test.echo' })
        .expect(201);
      const body = JSON.stringify({ action: 'opened', number: 7, pull_request: { title: 'Add poll' } });
      const headers = await githubHeaders(webhookSecret, body, 'pull_request');
      const accepted = await deliver(id, body, headers).expect(202);
      expect(accepted.body).toEqual({ eventId: expect.any(String), duplicate: false });
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({
        name: 'github.pull_request.opened',
        source: `connection:${id}`,
        idempotencyKey: headers['x-github-delivery'],
        data: { action: 'opened', number: 7 },
      });
      expect(event.jobs).toEqual([expect.objectContaining({ type: 'test.echo' })]);

      const again = await deliver(id, body, headers).expect(200);
      expect(again.body).toEqual({ eventId: accepted.body.eventId, duplicate: true });
      expect(await eventsOf(id)).toHaveLength(1);
    });

    it('routes a delivery whose data gives a concurrency key the job column cannot hold as it is, hashed', async () => {
      const { id, webhookSecret } = await connect('github');
      await t
        .http()
        .post('/routes')
        .set(admin)
        .send({
          name: `github keys ${id}`,
          eventPattern: 'github.push',
          filter: { source: `connection:${id}` },
          jobType: 'test.echo',
          jobOptions: { concurrencyKey: 'ref-{{data.ref}}' },
        })
        .expect(201);
      const keyOf = async (ref: string): Promise<string> => {
        const body = JSON.stringify({ ref });
        const accepted = await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(
          202,
        );
        const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
        const job = (await t.http().get(`/jobs/${event.jobs[0].id}`).set(admin).expect(200)).body;
        return job.concurrencyKey as string;
      };
      // PostgreSQL refuses a NUL in text: the event, and the partner's delivery, were refused with it.
      const withNul = await keyOf('refs/heads/a\u0000b');
      expect(withNul).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await keyOf('refs/heads/a\u0000b')).toBe(withNul);
      // Cut to 300 characters, two refs alike in those would have waited on each other.
      const long = 'r'.repeat(300);
      const [first, second] = [await keyOf(`${long}1`), await keyOf(`${long}2`)];
      expect(first).toMatch(/^sha256:/);
      expect(second).not.toBe(first);
      expect(await keyOf('refs/heads/main')).toBe('ref-refs/heads/main');
    });

    it('names a push github.push, answers a ping 200 without storing it, and reads the form-encoded option', async () => {
      const { id, webhookSecret } = await connect('github');
      const push = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123' });
      await deliver(id, push, await githubHeaders(webhookSecret, push, 'push')).expect(202);
      const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
      const pinged = await deliver(id, ping, await githubHeaders(webhookSecret, ping, 'ping')).expect(200);
      expect(pinged.body).toEqual({ eventId: null, duplicate: false, ignored: 'ping' });
      const form = `payload=${encodeURIComponent(JSON.stringify({ action: 'created', issue: { number: 3 } }))}`;
      await deliver(id, form, {
        ...(await githubHeaders(webhookSecret, form, 'issues')),
        'content-type': 'application/x-www-form-urlencoded',
      }).expect(202);
      const events = await eventsOf(id);
      expect(events.map((e) => e.name).sort()).toEqual(['github.issues.created', 'github.push']);
      expect(events.find((e) => e.name === 'github.issues.created')!.data).toEqual({
        action: 'created',
        issue: { number: 3 },
      });
    });

    it('refuses a changed byte, a wrong secret and a missing signature with 401, storing nothing', async () => {
      const { id, webhookSecret } = await connect('github');
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123' });
      const headers = await githubHeaders(webhookSecret, body, 'push');
      const changed = await deliver(id, body.replace('abc123', 'abc124'), headers).expect(401);
      expect(changed.body).toMatchObject({ statusCode: 401, error: 'WEBHOOK_SIGNATURE_INVALID' });
      await deliver(id, body, await githubHeaders('whsec_not-the-secret', body, 'push')).expect(401);
      await deliver(id, body, { ...headers, 'x-hub-signature-256': '' }).expect(401);
      expect(await eventsOf(id)).toEqual([]);
      const metrics = (await t.http().get('/metrics').set(admin).expect(200)).text;
      expect(metrics).toMatch(
        /junction_webhooks_received_total\{provider="github",result="refused"\} ([3-9]|\d\d+)/,
      );
    });

    it('accepts the previous secret for 24 hours after a rotation, then only the new one', async () => {
      const { id, webhookSecret: old } = await connect('github');
      const rotated = await t.http().post(`/connections/${id}/webhook-secret`).set(admin).expect(200);
      const fresh = rotated.body.webhookSecret as string;
      expect(fresh).not.toBe(old);
      const push = (n: number) => JSON.stringify({ ref: 'refs/heads/main', after: `sha${n}` });
      await deliver(id, push(1), await githubHeaders(old, push(1), 'push')).expect(202);
      await deliver(id, push(2), await githubHeaders(fresh, push(2), 'push')).expect(202);
      const clock = t.app.get(Clock);
      const later = Date.now() + 24 * 60 * 60 * 1000 + 60_000;
      jest.spyOn(clock, 'now').mockImplementation(() => new Date(later));
      await deliver(id, push(3), await githubHeaders(old, push(3), 'push')).expect(401);
      await deliver(id, push(4), await githubHeaders(fresh, push(4), 'push')).expect(202);
    });

    it('accepts every secret rotated out within 24 hours after two rotations, then only the newest', async () => {
      const { id, webhookSecret: first } = await connect('github');
      const rotate = async () =>
        (await t.http().post(`/connections/${id}/webhook-secret`).set(admin).expect(200)).body as {
          webhookSecret: string;
          previousValidUntil: string;
          previousSecretsValidUntil: string[];
        };
      const second = await rotate();
      const third = await rotate();
      const push = (n: number) => JSON.stringify({ ref: 'refs/heads/main', after: `sha${n}` });
      await deliver(id, push(1), await githubHeaders(first, push(1), 'push')).expect(202);
      await deliver(id, push(2), await githubHeaders(second.webhookSecret, push(2), 'push')).expect(202);
      await deliver(id, push(3), await githubHeaders(third.webhookSecret, push(3), 'push')).expect(202);
      expect(third.previousSecretsValidUntil).toHaveLength(2);
      expect(third.previousSecretsValidUntil[0]).toBe(third.previousValidUntil);
      expect(JSON.stringify(third)).not.toContain(first);
      expect(JSON.stringify(third)).not.toContain(second.webhookSecret);

      const clock = t.app.get(Clock);
      const later = Date.now() + 24 * 60 * 60 * 1000 + 60_000;
      jest.spyOn(clock, 'now').mockImplementation(() => new Date(later));
      await deliver(id, push(4), await githubHeaders(first, push(4), 'push')).expect(401);
      await deliver(id, push(5), await githubHeaders(second.webhookSecret, push(5), 'push')).expect(401);
      await deliver(id, push(6), await githubHeaders(third.webhookSecret, push(6), 'push')).expect(202);
    });

    it('refuses a secret rotated out more than 24 hours before the next rotation', async () => {
      const { id, webhookSecret: first } = await connect('github');
      const clock = t.app.get(Clock);
      const now = Date.now();
      jest.spyOn(clock, 'now').mockImplementation(() => new Date(now - 25 * 60 * 60 * 1000));
      const second = (await t.http().post(`/connections/${id}/webhook-secret`).set(admin).expect(200)).body
        .webhookSecret as string;
      jest.restoreAllMocks();
      const rotated = await t.http().post(`/connections/${id}/webhook-secret`).set(admin).expect(200);
      const third = rotated.body.webhookSecret as string;
      expect(rotated.body.previousSecretsValidUntil).toHaveLength(1);
      const push = (n: number) => JSON.stringify({ ref: 'refs/heads/main', after: `sha${n}` });
      await deliver(id, push(1), await githubHeaders(first, push(1), 'push')).expect(401);
      await deliver(id, push(2), await githubHeaders(second, push(2), 'push')).expect(202);
      await deliver(id, push(3), await githubHeaders(third, push(3), 'push')).expect(202);
    });

    it('keeps at most 10 previous secrets however often the secret is rotated', async () => {
      const { id, webhookSecret: first } = await connect('github');
      const secrets = [first];
      for (let i = 0; i < 12; i++) {
        const rotated = await t.http().post(`/connections/${id}/webhook-secret`).set(admin).expect(200);
        secrets.push(rotated.body.webhookSecret as string);
        if (i === 11) expect(rotated.body.previousSecretsValidUntil).toHaveLength(10);
      }
      const push = (n: number) => JSON.stringify({ ref: 'refs/heads/main', after: `sha${n}` });
      const accepted = [];
      for (const [n, secret] of secrets.entries()) {
        const answer = await deliver(id, push(n), await githubHeaders(secret, push(n), 'push'));
        accepted.push(answer.status === 202);
      }
      expect(accepted).toEqual([false, false, ...Array<boolean>(11).fill(true)]);
    });

    it('answers 409 for a paused connection and 413 over the body limit, storing nothing', async () => {
      const { id, webhookSecret } = await connect('github');
      const big = JSON.stringify({ ref: 'x'.repeat(1024 * 1024 + 10) });
      await deliver(id, big, await githubHeaders(webhookSecret, big, 'push')).expect(413);
      await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const paused = await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(409);
      expect(paused.body.error).toBe('WEBHOOK_CONNECTION_PAUSED');
      expect(await eventsOf(id)).toEqual([]);
    });

    it('limits each connection’s inbound rate with 429 and Retry-After', async () => {
      const { id, webhookSecret } = await connect('github', {
        inboundRateLimit: { requests: 2, perMs: 60_000 },
      });
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      for (let n = 0; n < 2; n++)
        await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(202);
      const limited = await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(429);
      expect(limited.body.error).toBe('WEBHOOK_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    });

    it('spends no inbound budget on unsigned requests, and tells only a signed one that the connection is paused', async () => {
      const { id, webhookSecret } = await connect('github', {
        inboundRateLimit: { requests: 2, perMs: 60_000 },
      });
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const unsigned = { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' };
      for (let n = 0; n < 5; n++) await deliver(id, body, unsigned).expect(401);
      for (let n = 0; n < 2; n++)
        await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(202);
      await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(429);

      await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
      const probed = await deliver(id, body, unsigned).expect(401);
      expect(probed.body.error).toBe('WEBHOOK_SIGNATURE_INVALID');
      const paused = await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(409);
      expect(paused.body.error).toBe('WEBHOOK_CONNECTION_PAUSED');
    });

    it('verifies any media type on its exact bytes, reads +json as JSON, and refuses a signed body it cannot read with 400, counted', async () => {
      const { id, webhookSecret } = await connect('github');
      const json = JSON.stringify({ action: 'opened', number: 8 });
      const accepted = await deliver(id, json, {
        ...(await githubHeaders(webhookSecret, json, 'issues')),
        'content-type': 'application/vnd.github+json',
      }).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({ name: 'github.issues.opened', data: { action: 'opened', number: 8 } });

      const unreadableBefore = await counted('github', 'unreadable');
      // A body signed as if it were empty: before, a text/plain body was verified against nothing.
      await deliver(id, 'forged', {
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', webhookSecret).update('').digest('hex')}`,
        'content-type': 'text/plain',
      }).expect(401);
      for (const type of ['text/plain', 'application/octet-stream']) {
        const text = 'neither JSON nor a form';
        const refused = await deliver(id, text, {
          ...(await githubHeaders(webhookSecret, text, 'push')),
          'content-type': type,
        }).expect(400);
        expect(refused.body).toMatchObject({ statusCode: 400, error: 'WEBHOOK_BODY_UNREADABLE' });
        await deliver(id, text, {
          ...(await githubHeaders('whsec_wrong', text, 'push')),
          'content-type': type,
        }).expect(401);
      }
      expect(await counted('github', 'unreadable')).toBe(unreadableBefore + 2);
      expect((await eventsOf(id)).map((e) => e.name)).toEqual(['github.issues.opened']);
    });

    it('reads the body only once it is verified: unsigned garbage is 401, signed garbage 400 and counted', async () => {
      const { id, webhookSecret } = await connect('github');
      const garbage = '{"ref": "main",';
      const unsigned = await deliver(id, garbage, { 'x-github-event': 'push' }).expect(401);
      expect(unsigned.body.error).toBe('WEBHOOK_SIGNATURE_INVALID');
      const before = await counted('github', 'unreadable');
      const signed = await deliver(id, garbage, await githubHeaders(webhookSecret, garbage, 'push')).expect(
        400,
      );
      expect(signed.body.error).toBe('WEBHOOK_BODY_UNREADABLE');
      const form = 'payload=%7Bnot%20json';
      await deliver(id, form, {
        ...(await githubHeaders(webhookSecret, form, 'push')),
        'content-type': 'application/x-www-form-urlencoded',
      }).expect(400);
      expect(await counted('github', 'unreadable')).toBe(before + 2);
      expect(await eventsOf(id)).toEqual([]);
    });

    it('reads a signed JSON body that starts with a byte-order mark', async () => {
      const { id, webhookSecret } = await connect('github');
      const body = `\uFEFF${JSON.stringify({ action: 'opened', number: 9 })}`;
      const accepted = await deliver(id, body, await githubHeaders(webhookSecret, body, 'issues')).expect(
        202,
      );
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({ name: 'github.issues.opened', data: { action: 'opened', number: 9 } });
    });

    it('names a delivery whose action is empty by its event alone, instead of refusing it', async () => {
      const { id, webhookSecret } = await connect('github');
      const body = JSON.stringify({ action: '', ref: 'refs/heads/main' });
      const accepted = await deliver(id, body, await githubHeaders(webhookSecret, body, 'push')).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event.name).toBe('github.push');
    });

    it('stores a signed payload with __proto__ and constructor.prototype keys without them, polluting nothing', async () => {
      const { id, webhookSecret } = await connect('github');
      const body =
        '{"action":"opened","__proto__":{"polluted":1},"issue":{"constructor":{"prototype":{"polluted":2}},' +
        '"\\u005f_proto__":{"polluted":3},"title":"kept"}}';
      const accepted = await deliver(id, body, await githubHeaders(webhookSecret, body, 'issues')).expect(
        202,
      );
      const form = `__proto__=x&constructor=y&payload=${encodeURIComponent('{"__proto__":{"polluted":4},"n":1}')}`;
      const fromForm = await deliver(id, form, {
        ...(await githubHeaders(webhookSecret, form, 'push')),
        'content-type': 'application/x-www-form-urlencoded',
      }).expect(202);
      const shop = await connect('hmac', { header: 'X-Sig', eventName: 'shop.order' });
      const fields = '__proto__=x&total=12';
      await deliver(shop.id, fields, {
        'x-sig': createHmac('sha256', shop.webhookSecret).update(fields).digest('hex'),
        'content-type': 'application/x-www-form-urlencoded',
      }).expect(202);

      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event.data).toEqual({ action: 'opened', issue: { title: 'kept' } });
      const formEvent = (await t.http().get(`/events/${fromForm.body.eventId}`).set(admin).expect(200)).body;
      expect(formEvent.data).toEqual({ n: 1 });
      const [shopEvent] = await eventsOf(shop.id);
      expect(shopEvent.data).toEqual({ total: '12' });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('hashes a delivery id over 300 characters or with a control character, and still knows its redelivery', async () => {
      const { id, webhookSecret } = await connect('github');
      for (const delivery of ['d'.repeat(301), 'tab\there']) {
        const body = JSON.stringify({ ref: 'refs/heads/main', delivery: delivery.length });
        const headers = await githubHeaders(webhookSecret, body, 'push', delivery);
        const accepted = await deliver(id, body, headers).expect(202);
        const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
        expect(event.idempotencyKey).toMatch(/^sha256:[0-9a-f]{64}$/);
        const again = await deliver(id, body, headers).expect(200);
        expect(again.body).toEqual({ eventId: accepted.body.eventId, duplicate: true });
      }
      expect(await eventsOf(id)).toHaveLength(2);
    });

    it('is 404 for a connection that receives no webhooks, and rotation is refused for it', async () => {
      const http = await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'http',
          name: `rest-${++serial}`,
          config: { baseUrl: 'http://127.0.0.1:9' },
          credentials: { type: 'none' },
        })
        .expect(201);
      expect(http.body).toMatchObject({ webhookUrl: null, webhookSecret: null });
      await deliver(http.body.id, '{}', {}).expect(404);
      const unknown = await deliver(randomUUID(), '{}', {}).expect(404);
      expect(unknown.body).toMatchObject({ statusCode: 404, error: 'WEBHOOK_NOT_FOUND' });
      // A malformed id is no connection either: the same answer, not a validation error.
      const malformed = await deliver('not-a-uuid', '{}', {}).expect(404);
      expect(malformed.body).toMatchObject({ statusCode: 404, error: 'WEBHOOK_NOT_FOUND' });
      const refused = await t
        .http()
        .post(`/connections/${http.body.id}/webhook-secret`)
        .set(admin)
        .expect(409);
      expect(refused.body.error).toBe('NO_WEBHOOKS');
    });
  });

  describe('standard-webhooks', () => {
    it('accepts deliveries signed by the standardwebhooks package, with several signatures during a rotation', async () => {
      const { id, webhookSecret } = await connect('standard-webhooks');
      const body = JSON.stringify({
        type: 'invoice.paid',
        timestamp: new Date().toISOString(),
        data: { id: 'in_1' },
      });
      const messageId = `msg_${randomUUID()}`;
      const now = new Date();
      const signature = new Webhook(webhookSecret).sign(messageId, now, body);
      const otherKey = new Webhook(
        'whsec_' + Buffer.from('another key of thirty-two bytes!').toString('base64'),
      );
      const headers = {
        'webhook-id': messageId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': `${otherKey.sign(messageId, now, body)} ${signature}`,
      };
      const accepted = await deliver(id, body, headers).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({
        name: 'invoice.paid',
        idempotencyKey: messageId,
        data: { data: { id: 'in_1' } },
      });
      await deliver(id, body, headers).expect(200);
    });

    it('refuses a stale timestamp, a changed byte and a missing header', async () => {
      const { id, webhookSecret } = await connect('standard-webhooks');
      const body = JSON.stringify({ type: 'invoice.paid', data: {} });
      const signer = new Webhook(webhookSecret);
      const stale = new Date(Date.now() - 6 * 60 * 1000);
      const staleHeaders = {
        'webhook-id': 'msg_stale',
        'webhook-timestamp': String(Math.floor(stale.getTime() / 1000)),
        'webhook-signature': signer.sign('msg_stale', stale, body),
      };
      await deliver(id, body, staleHeaders).expect(401);
      const now = new Date();
      const headers = {
        'webhook-id': 'msg_now',
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign('msg_now', now, body),
      };
      await deliver(id, body.replace('paid', 'paiD'), headers).expect(401);
      await deliver(id, body, { ...headers, 'webhook-timestamp': '' }).expect(401);
      expect(await eventsOf(id)).toEqual([]);
    });

    it('stores a delivery whose type is missing or no event name as one, instead of refusing it', async () => {
      const { id, webhookSecret } = await connect('standard-webhooks');
      const signer = new Webhook(webhookSecret);
      const names = [];
      for (const payload of [{ data: { id: 'in_2' } }, { type: 'Invoice Paid' }]) {
        const body = JSON.stringify(payload);
        const messageId = `msg_${randomUUID()}`;
        const now = new Date();
        const accepted = await deliver(id, body, {
          'webhook-id': messageId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signer.sign(messageId, now, body),
        }).expect(202);
        names.push((await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body.name);
      }
      expect(names).toEqual(['unknown', 'invoice_paid']);
    });
  });

  describe('stripe', () => {
    const stripeHeader = (secret: string, body: string, at = Math.floor(Date.now() / 1000)) =>
      `t=${at},v1=${createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')},v0=ignored`;

    it('verifies Stripe-Signature with the secret Stripe gave, names the event stripe.<type>, and refuses stale ones', async () => {
      const { id } = await connect('stripe');
      const given = 'whsec_stripe_made_this_secret_0123456789';
      const rotated = await t
        .http()
        .post(`/connections/${id}/webhook-secret`)
        .set(admin)
        .send({ secret: given })
        .expect(200);
      expect(rotated.body.webhookSecret).toBe(given);
      const body = JSON.stringify({
        id: 'evt_1',
        type: 'payment_intent.succeeded',
        data: { object: { id: 'pi_1' } },
      });
      const accepted = await deliver(id, body, { 'stripe-signature': stripeHeader(given, body) }).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({ name: 'stripe.payment_intent.succeeded', idempotencyKey: 'evt_1' });
      const staleAt = Math.floor(Date.now() / 1000) - 301;
      await deliver(id, body, { 'stripe-signature': stripeHeader(given, body, staleAt) }).expect(401);
      await deliver(id, body, { 'stripe-signature': stripeHeader('whsec_wrong', body) }).expect(401);
    });

    it('takes a v1 signature in upper-case hex, among others, and names an odd type as an event can be named', async () => {
      const { id, webhookSecret } = await connect('stripe');
      const body = JSON.stringify({ id: 'evt_upper', type: 'Payment Intent.Succeeded' });
      const at = Math.floor(Date.now() / 1000);
      const hex = createHmac('sha256', webhookSecret).update(`${at}.${body}`).digest('hex');
      const accepted = await deliver(id, body, {
        'stripe-signature': `t=${at},v1=${'0'.repeat(64)},v1=${hex.toUpperCase()},v0=ignored`,
      }).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({ name: 'stripe.payment_intent.succeeded', idempotencyKey: 'evt_upper' });
    });
  });

  describe('hmac', () => {
    it('verifies a configured header, algorithm, encoding and prefix, and names the event from a template', async () => {
      const { id, webhookSecret } = await connect('hmac', {
        header: 'X-Shop-Signature',
        algorithm: 'sha512',
        encoding: 'base64',
        prefix: 'sha512=',
        timestampHeader: 'X-Shop-Timestamp',
        eventName: 'shop.{{headers.x-shop-topic}}',
        deliveryIdHeader: 'X-Shop-Delivery',
      });
      const body = JSON.stringify({ id: 991, total: '12.50' });
      const at = String(Math.floor(Date.now() / 1000));
      const signature = `sha512=${createHmac('sha512', webhookSecret).update(`${at}.${body}`).digest('base64')}`;
      const headers = {
        'x-shop-signature': signature,
        'x-shop-timestamp': at,
        'x-shop-topic': 'orders-create',
        'x-shop-delivery': 'dlv-991',
      };
      const accepted = await deliver(id, body, headers).expect(202);
      const event = (await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body;
      expect(event).toMatchObject({
        name: 'shop.orders-create',
        idempotencyKey: 'dlv-991',
        data: { id: 991 },
      });
      await deliver(id, body, {
        ...headers,
        'x-shop-signature': signature.replace('sha512=', 'sha256='),
      }).expect(401);
    });

    it('takes a hex signature in either case', async () => {
      const { id, webhookSecret } = await connect('hmac', {
        header: 'X-Sig',
        prefix: 'sha256=',
        eventName: 'shop.order',
      });
      const body = JSON.stringify({ id: 5 });
      const hex = createHmac('sha256', webhookSecret).update(body).digest('hex');
      await deliver(id, body, { 'x-sig': `sha256=${hex.toUpperCase()}` }).expect(202);
      await deliver(id, body, { 'x-sig': `sha256=${hex.replace(/[0-9]/g, '0').toUpperCase()}` }).expect(401);
    });

    it('takes the prefix in either case, as the github verifier does', async () => {
      const { id, webhookSecret } = await connect('hmac', {
        header: 'X-Sig',
        prefix: 'sha256=',
        eventName: 'shop.order',
      });
      const body = JSON.stringify({ id: 6 });
      const hex = createHmac('sha256', webhookSecret).update(body).digest('hex');
      await deliver(id, body, { 'x-sig': `SHA256=${hex.toUpperCase()}` }).expect(202);
      await deliver(id, body, { 'x-sig': `sha512=${hex}` }).expect(401);
    });

    it('stores a delivery whose event name template renders empty or with characters no event name has', async () => {
      const { id, webhookSecret } = await connect('hmac', {
        header: 'X-Sig',
        eventName: 'shop.{{headers.x-shop-topic}}',
      });
      const rejectedBefore = await counted('hmac', 'rejected_event');
      const names = [];
      for (const [n, topic] of [undefined, 'orders/create', 'Orders Paid'].entries()) {
        const body = JSON.stringify({ id: n });
        const accepted = await deliver(id, body, {
          'x-sig': createHmac('sha256', webhookSecret).update(body).digest('hex'),
          ...(topic === undefined ? {} : { 'x-shop-topic': topic }),
        }).expect(202);
        names.push((await t.http().get(`/events/${accepted.body.eventId}`).set(admin).expect(200)).body.name);
      }
      expect(names).toEqual(['shop.unknown', 'shop.orders_create', 'shop.orders_paid']);
      expect(await counted('hmac', 'rejected_event')).toBe(rejectedBefore);
    });

    it('refuses a config whose event name template reads outside body and headers', async () => {
      const refused = await t
        .http()
        .post('/connections')
        .set(admin)
        .send({
          provider: 'hmac',
          name: 'bad hmac',
          config: { header: 'X-Sig', eventName: 'shop.{{input.topic}}' },
          credentials: { type: 'none' },
        })
        .expect(422);
      expect(refused.body.details).toEqual([expect.objectContaining({ path: '/config/eventName' })]);
    });
  });
});

/** Secrets rotated out stay accepted across a change of secret key and across the migration that made them a list. */
describe('inbound webhook secrets rotated out', () => {
  const OLD_KEY = '11'.repeat(32);
  const NEW_KEY = '22'.repeat(32);
  const push = (n: number) => JSON.stringify({ ref: 'refs/heads/main', after: `sha${n}` });

  /** A github connection whose secret was rotated twice: its three secrets, oldest first. */
  async function rotatedTwice(app: TestApp): Promise<{ id: string; secrets: string[] }> {
    const created = (
      await app
        .http()
        .post('/connections')
        .set(admin)
        .send({ provider: 'github', name: 'rotated twice', config: {}, credentials: { type: 'none' } })
        .expect(201)
    ).body as Created;
    const secrets = [created.webhookSecret];
    for (let i = 0; i < 2; i++) {
      const rotated = await app
        .http()
        .post(`/connections/${created.id}/webhook-secret`)
        .set(admin)
        .expect(200);
      secrets.push(rotated.body.webhookSecret as string);
    }
    return { id: created.id, secrets };
  }

  /** The status each secret's signed delivery is answered with. */
  async function answers(app: TestApp, id: string, secrets: string[]): Promise<number[]> {
    const statuses = [];
    for (const [n, secret] of secrets.entries()) {
      const body = push(n);
      const delivered = await app
        .http()
        .post(`/webhooks/${id}`)
        .set({
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': await githubSign(secret, body),
        })
        .send(body);
      statuses.push(delivered.status);
    }
    return statuses;
  }

  // On SQLite one process's reseal runs between two requests; on PostgreSQL a request can commit between its read and write.
  (process.env.DATABASE_URL?.startsWith('postgres') ? it : it.skip)(
    'seals again a secret rotated out between the reseal reading the connection and writing it',
    async () => {
      const database = await TestDatabase.create();
      try {
        const rotating = await startTestApp({
          database,
          env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
        });
        let release = () => undefined as void;
        let closed = false;
        try {
          await jobEnded(rotating, 'connections.reseal', 'succeeded');
          const made: Created[] = [];
          for (const name of ['first', 'held', 'rotated meanwhile']) {
            made.push(
              (
                await rotating
                  .http()
                  .post('/connections')
                  .set(admin)
                  .send({ provider: 'github', name, config: {}, credentials: { type: 'none' } })
                  .expect(201)
              ).body as Created,
            );
          }
          const [first, middle, target] = made;
          // As connections made before the rotation have them: sealed with the old key.
          const oldBox = new SecretBox(Buffer.from(OLD_KEY, 'hex'));
          const serializer = rotating.app.get(WriteSerializer);
          const manager = rotating.app.get(DataSource).manager;
          for (const { id, webhookSecret } of made) {
            await serializer.transaction((m) =>
              rawSql(m, `UPDATE "connection" SET webhook_secret_sealed = ? WHERE id = ?`, [
                oldBox.seal(webhookSecret),
                id,
              ]),
            );
          }
          const firstSealed = (
            await rawSql(manager, `SELECT webhook_secret_sealed FROM "connection" WHERE id = ?`, [first.id])
          ).rows[0].webhook_secret_sealed;

          // The middle row stays locked: the reseal, having read all three, waits there.
          const gate = new Promise<void>((resolve) => (release = resolve));
          let locked = () => undefined as void;
          const lockTaken = new Promise<void>((resolve) => (locked = resolve));
          const held = serializer.transaction(async (m) => {
            await rawSql(m, `SELECT id FROM "connection" WHERE id = ? FOR UPDATE`, [middle.id]);
            locked();
            await gate;
          });
          await lockTaken;
          const job = (
            await rotating
              .http()
              .post('/jobs')
              .set(admin)
              .send({ type: 'connections.reseal', payload: {} })
              .expect(201)
          ).body as { id: string };
          await waitFor(
            async () =>
              (
                await rawSql(manager, `SELECT webhook_secret_sealed FROM "connection" WHERE id = ?`, [
                  first.id,
                ])
              ).rows[0].webhook_secret_sealed,
            (sealed) => sealed !== firstSealed,
          );
          const rotated = await rotating
            .http()
            .post(`/connections/${target.id}/webhook-secret`)
            .set(admin)
            .expect(200);
          release();
          await held;
          await waitFor(
            async () =>
              (
                (await rotating.http().get(`/jobs/${job.id}`).set(admin).expect(200)).body as {
                  status: string;
                }
              ).status,
            (status) => status === 'succeeded',
          );
          closed = true;
          await rotating.close();

          const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
          try {
            // The secret rotated out keeps verifying for its 24 hours, the new one from now on.
            expect(
              await answers(after, target.id, [target.webhookSecret, rotated.body.webhookSecret as string]),
            ).toEqual([202, 202]);
          } finally {
            await after.close();
          }
        } finally {
          release();
          if (!closed) await rotating.close();
        }
      } finally {
        await database.drop();
      }
    },
  );

  it('seals every previous secret again with the new key, so each still verifies once the old key is gone', async () => {
    const database = await TestDatabase.create();
    try {
      const before = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const { id, secrets } = await rotatedTwice(before);
      await before.close();

      const rotating = await startTestApp({
        database,
        env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
      });
      const job = await jobEnded(rotating, 'connections.reseal', 'succeeded');
      expect(job?.result).toEqual({ resealed: 1, current: 0 });
      await rotating.close();

      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        expect(await answers(after, id, secrets)).toEqual([202, 202, 202]);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('migrates a previous secret kept before the list to a list of one, and back', async () => {
    const database = await TestDatabase.create();
    try {
      const before = await startTestApp({ database });
      const { id, secrets } = await rotatedTwice(before);
      const scratch = new DataSource({ ...before.app.get(DataSource).options, entities: [] });
      await before.close();

      await scratch.initialize();
      try {
        const migrated = async () =>
          (await scratch.query<{ name: string }[]>('SELECT "name" FROM "migrations"')).some(
            (m) => m.name === 'WebhookPreviousSecrets1765332000000',
          );
        while (await migrated()) await scratch.undoLastMigration({ transaction: 'each' });
        // Reverted, the connection keeps the secret rotated out last, as it did before the list.
        const [row] = await scratch.query<
          { webhook_previous_secret_sealed: string | null; webhook_previous_until: unknown }[]
        >(`SELECT webhook_previous_secret_sealed, webhook_previous_until FROM "connection"`);
        expect(row.webhook_previous_secret_sealed).toEqual(expect.any(String));
        expect(row.webhook_previous_until).not.toBeNull();
        await scratch.runMigrations({ transaction: 'each' });
      } finally {
        await scratch.destroy();
      }

      const after = await startTestApp({ database });
      try {
        expect(await answers(after, id, secrets)).toEqual([401, 202, 202]);
        const clock = after.app.get(Clock);
        const later = Date.now() + 24 * 60 * 60 * 1000 + 60_000;
        jest.spyOn(clock, 'now').mockImplementation(() => new Date(later));
        expect(await answers(after, id, secrets)).toEqual([401, 401, 202]);
      } finally {
        jest.restoreAllMocks();
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
});
