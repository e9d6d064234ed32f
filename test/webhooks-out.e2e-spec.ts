import { jest } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock.js';
import { rawSql } from '../src/database/raw-sql.js';
import { JobLedger } from '../src/modules/jobs/job-ledger.service.js';
import { WebhookReceiver } from './fakes/webhook-receiver.js';
import type { ReceivedDelivery } from './fakes/webhook-receiver.js';
import { ADMIN_KEY, bearer, jobEnded, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const mode = process.env.DATABASE_URL?.startsWith('postgres') ? 'PostgreSQL + Redis' : 'SQLite';
const admin = bearer(ADMIN_KEY);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Endpoint {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  headerNames: string[];
  secret?: string;
}

interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attemptCount: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  attempts: { attempt: number; statusCode: number | null; response: string | null; error: string | null }[];
}

describe(`outbound webhooks (${mode})`, () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let clock: Clock;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    t = await startTestApp({
      env: { JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true', JUNCTION_WEBHOOK_RETRY_SCHEDULE: '0,1s,1s' },
    });
    clock = t.app.get(Clock);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });
  afterEach(() => jest.restoreAllMocks());

  /** An endpoint at `path` of the receiver, which verifies deliveries with the endpoint's secret. */
  const endpoint = async (path: string, body: object = {}): Promise<Endpoint & { secret: string }> => {
    const created = (
      await t
        .http()
        .post('/webhook-endpoints')
        .set(admin)
        .send({ url: `${receiver.url}${path}`, eventPatterns: ['order.*'], ...body })
        .expect(201)
    ).body as Endpoint & { secret: string };
    receiver.expectSecret(path, created.secret);
    return created;
  };
  const post = async (name: string, data: object = {}): Promise<string> =>
    (
      (await t.http().post('/events').set(admin).send({ name, source: 'shop', data }).expect(202)).body as {
        eventId: string;
      }
    ).eventId;
  const deliveries = async (endpointId: string, status?: string): Promise<Delivery[]> =>
    (
      (
        await t
          .http()
          .get(`/webhook-endpoints/${endpointId}/deliveries`)
          .query(status ? { status } : {})
          .set(admin)
          .expect(200)
      ).body as { items: Delivery[] }
    ).items;
  const delivery = async (id: string): Promise<Delivery> =>
    (await t.http().get(`/webhook-deliveries/${id}`).set(admin).expect(200)).body as Delivery;
  const getEndpoint = async (id: string): Promise<Endpoint> =>
    (await t.http().get(`/webhook-endpoints/${id}`).set(admin).expect(200)).body as Endpoint;
  const arrived = (path: string, count: number, timeoutMs = 15_000): Promise<ReceivedDelivery[]> =>
    waitFor(
      () => Promise.resolve(receiver.received(path)),
      (received) => received.length >= count,
      timeoutMs,
    );
  const settled = (endpointId: string, count: number) =>
    waitFor(
      () => deliveries(endpointId),
      (items) => items.length >= count && items.every((d) => d.status !== 'pending'),
    );

  it('delivers each matching event signed, so the receiver verifies it with standardwebhooks', async () => {
    const hook = await endpoint('/signed', { headers: { 'x-team-token': 'team-token-4f5e6d7c' } });

    const eventId = await post('order.created', { orderId: 'A-1', total: 12 });
    await post('invoice.created', { invoiceId: 'I-1' });
    const [received] = await arrived('/signed', 1);

    expect(received.verified).toBe(true);
    expect(received.headers['webhook-id']).toBe(eventId);
    expect(received.headers['x-team-token']).toBe('team-token-4f5e6d7c');
    const body = JSON.parse(received.body) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    expect(body).toMatchObject({
      type: 'order.created',
      data: { id: eventId, name: 'order.created', source: 'shop', data: { orderId: 'A-1', total: 12 } },
    });
    expect(body.timestamp).toBe(body.data.occurredAt);
    const [done] = await settled(hook.id, 1);
    expect(done).toMatchObject({ eventId, status: 'succeeded', attemptCount: 1 });
    const details = await delivery(done.id);
    expect(details.attempts).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: 200, response: '{"ok":true}', error: null }),
    ]);
    // The invoice matched no pattern.
    expect(receiver.received('/signed')).toHaveLength(1);
    const metrics = (await t.http().get('/metrics').set(admin).expect(200)).text;
    expect(metrics).toContain(
      `junction_webhook_deliveries_total{endpoint="${hook.id}",outcome="succeeded"} 1`,
    );
    expect(metrics).toContain(`junction_webhook_delivery_duration_seconds_count{endpoint="${hook.id}"} 1`);
  });

  it('sends only the events its filter matches', async () => {
    const hook = await endpoint('/filtered', { filter: { 'data.total': { $gte: 100 } } });

    await post('order.created', { total: 20 });
    const big = await post('order.created', { total: 150 });
    await settled(hook.id, 1);

    expect((await deliveries(hook.id)).map((d) => d.eventId)).toEqual([big]);
  });

  it('retries a failing receiver on the schedule with the same webhook-id until it succeeds', async () => {
    const hook = await endpoint('/flaky');
    receiver.answer('/flaky', { status: 500 }, { status: 500 });

    const eventId = await post('order.created', { orderId: 'A-2' });
    const received = await arrived('/flaky', 3);
    const [done] = await settled(hook.id, 1);

    expect(received.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId, eventId]);
    expect(received.every((r) => r.verified)).toBe(true);
    // The schedule waits about a second (±20 %) before each retry.
    expect(received[1].at.getTime() - received[0].at.getTime()).toBeGreaterThanOrEqual(700);
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 3 });
    expect((await delivery(done.id)).attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
  });

  it('gives up after the last attempt of the schedule', async () => {
    const hook = await endpoint('/down');
    receiver.answerAlways('/down', { status: 502 });

    await post('order.created');
    const [failed] = await settled(hook.id, 1);

    expect(failed).toMatchObject({ status: 'failed', attemptCount: 3 });
    expect(receiver.received('/down')).toHaveLength(3);
    expect((await getEndpoint(hook.id)).enabled).toBe(true);
  });

  it('disables an endpoint that answers 410 Gone at once, and emits webhook.endpoint.disabled', async () => {
    // It listens for webhook.* too, yet is not sent the event of its own disabling.
    const hook = await endpoint('/gone', { eventPatterns: ['order.*', 'webhook.*'] });
    receiver.answerAlways('/gone', { status: 410 });

    await post('order.created');
    const [failed] = await settled(hook.id, 1);

    expect(failed).toMatchObject({ status: 'failed', attemptCount: 1 });
    const disabled = await getEndpoint(hook.id);
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining('410') as string,
    });
    expect(await disabledEvents(hook.id)).toHaveLength(1);
    await post('order.created');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await deliveries(hook.id)).toHaveLength(1);
  });

  it('waits the Retry-After of a 503 before the next attempt', async () => {
    const hook = await endpoint('/busy');
    receiver.answer('/busy', { status: 503, retryAfter: 2 });

    await post('order.created');
    const received = await arrived('/busy', 2);
    await settled(hook.id, 1);

    const waited = received[1].at.getTime() - received[0].at.getTime();
    expect(waited).toBeGreaterThanOrEqual(1900);
    expect(waited).toBeLessThan(5000);
  });

  it('keeps the attempt of a Retry-After beyond what a date holds, waiting 30 days, and spoils no other delivery', async () => {
    const far = await endpoint('/far-off', { eventPatterns: ['far.*'] });
    const near = await endpoint('/near-by', { eventPatterns: ['far.*'] });
    // About 317,000 years: past the last date JavaScript holds.
    receiver.answer('/far-off', { status: 429, retryAfter: 1e13 });

    await post('far.away');
    await arrived('/far-off', 1);
    const [waiting] = await waitFor(
      () => deliveries(far.id),
      ([only]) => only?.attemptCount === 1,
    );
    const [sent] = await settled(near.id, 1);
    // Time for a lost record to show as a second request.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    expect(waiting).toMatchObject({ status: 'pending', attemptCount: 1 });
    const wait = new Date((await delivery(waiting.id)).nextAttemptAt!).getTime() - Date.now();
    expect(wait).toBeGreaterThan(29 * DAY);
    expect(wait).toBeLessThanOrEqual(30 * DAY);
    expect((await delivery(waiting.id)).attempts.map((a) => a.statusCode)).toEqual([429]);
    expect(receiver.received('/far-off')).toHaveLength(1);
    expect(sent).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(receiver.received('/near-by')).toHaveLength(1);
  });

  it('disables an endpoint failing for five days without a success, and emits webhook.endpoint.disabled', async () => {
    const hook = await endpoint('/outage', { eventPatterns: ['outage.*'] });
    receiver.answerAlways('/outage', { status: 500 });
    const eventId = await post('outage.started');
    // The first attempt has failed and its retry is scheduled (in real time, which Bull also keeps).
    await waitFor(
      async () =>
        (await t.http().get(`/events/${eventId}`).set(admin).expect(200)).body as {
          jobs: { status: string }[];
        },
      (event) => event.jobs[0]?.status === 'failed',
    );
    const start = clock.now().getTime();
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(start + 5 * DAY + 60_000));

    const [failed] = await settled(hook.id, 1);

    expect(failed).toMatchObject({ status: 'failed', attemptCount: 2 });
    expect(await getEndpoint(hook.id)).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining('failing without a success') as string,
    });
    const [event] = await disabledEvents(hook.id);
    expect(event.data).toMatchObject({ endpointId: hook.id, url: `${receiver.url}/outage` });
  });

  it('recover sends every delivery that failed since a time once more', async () => {
    const hook = await endpoint('/recover');
    receiver.answerAlways('/recover', { status: 500 });
    const since = new Date().toISOString();
    const first = await post('order.created', { n: 1 });
    const second = await post('order.created', { n: 2 });
    await settled(hook.id, 2);
    expect(await deliveries(hook.id, 'failed')).toHaveLength(2);
    receiver.answerAlways('/recover', { status: 200 });

    const { resent } = (
      await t.http().post(`/webhook-endpoints/${hook.id}/recover`).set(admin).send({ since }).expect(200)
    ).body as { resent: number };
    await arrived('/recover', 8);
    await settled(hook.id, 2);
    const again = (
      await t.http().post(`/webhook-endpoints/${hook.id}/recover`).set(admin).send({ since }).expect(200)
    ).body as { resent: number };

    expect(resent).toBe(2);
    expect(again.resent).toBe(0);
    expect(await deliveries(hook.id, 'succeeded')).toHaveLength(2);
    const ids = receiver.received('/recover').map((r) => r.headers['webhook-id']);
    expect(ids.filter((id) => id === first)).toHaveLength(4);
    expect(ids.filter((id) => id === second)).toHaveLength(4);
  });

  it('resends one delivery, with the same webhook-id', async () => {
    const hook = await endpoint('/resend');
    const eventId = await post('order.created');
    const [done] = await settled(hook.id, 1);

    await t.http().post(`/webhook-deliveries/${done.id}/resend`).set(admin).expect(202);
    const received = await arrived('/resend', 2);

    expect(received.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId]);
    expect((await settled(hook.id, 1))[0].attemptCount).toBe(2);
  });

  it('counts a 2xx as success whatever its body', async () => {
    const hook = await endpoint('/odd-body');
    // The receiver says JSON (its content type) but sends text.
    receiver.answer('/odd-body', { status: 200, body: 'thanks!' });

    await post('order.created');
    const [done] = await settled(hook.id, 1);

    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect((await delivery(done.id)).attempts[0]).toMatchObject({ statusCode: 200, response: 'thanks!' });
  });

  it('keeps a token in the URL query out of the reasons of an endpoint disabled by 410', async () => {
    const path = '/gone-token?token=gone-secret-7c6b5a';
    const hook = await endpoint(path, { eventPatterns: ['gone.*'] });
    receiver.answerAlways(path, { status: 410 });

    const eventId = await post('gone.thing');
    const [failed] = await settled(hook.id, 1);
    const { jobs } = (await t.http().get(`/events/${eventId}`).set(admin).expect(200)).body as {
      jobs: { id: string }[];
    };
    const shown = [
      (await getEndpoint(hook.id)).disabledReason,
      JSON.stringify(await disabledEvents(hook.id)),
      JSON.stringify((await t.http().get(`/jobs/${jobs[0].id}`).set(admin).expect(200)).body),
      JSON.stringify(await delivery(failed.id)),
    ].join('\n');

    expect((await getEndpoint(hook.id)).disabledReason).toBe(`${receiver.url}/gone-token answered 410 Gone`);
    expect(shown).toContain('410 Gone');
    expect(shown).not.toContain('gone-secret-7c6b5a');
  });

  /** The delivery job of an event, once its first attempt is told to come back in ten minutes. */
  const waitingJob = async (path: string, eventName: string): Promise<{ eventId: string; jobId: string }> => {
    receiver.answer(path, { status: 503, retryAfter: 600 });
    const eventId = await post(eventName);
    await arrived(path, 1);
    const job = await waitFor(
      async () =>
        (
          (await t.http().get(`/events/${eventId}`).set(admin).expect(200)).body as {
            jobs: { id: string; type: string; status: string }[];
          }
        ).jobs.find((j) => j.type === 'webhooks.deliver'),
      (found) => found?.status === 'failed',
    );
    return { eventId, jobId: job!.id };
  };

  it('fails a delivery whose worker died on its last attempt, so it can be resent', async () => {
    const hook = await endpoint('/crashed', { eventPatterns: ['crash.*'] });
    const { jobId } = await waitingJob('/crashed', 'crash.thing');
    const [pending] = await deliveries(hook.id);
    expect(pending.status).toBe('pending');
    // As a worker that claimed the last attempt and died leaves the job: running, its lease over.
    await rawSql(
      t.app.get(DataSource).manager,
      `UPDATE job SET status = 'running', attempt = max_attempts, lease_owner = 'crashed-worker',
         lease_expires_at = ? WHERE id = ?`,
      [new Date(clock.now().getTime() - 60_000), jobId],
    );

    await t.app.get(JobLedger).expireLeases();
    const failed = await delivery(pending.id);
    await t.http().post(`/webhook-deliveries/${pending.id}/resend`).set(admin).expect(202);
    await arrived('/crashed', 2);
    const [done] = await settled(hook.id, 1);

    expect(failed).toMatchObject({
      status: 'failed',
      lastError: expect.stringContaining('LEASE_EXPIRED') as string,
    });
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 2 });
  });

  it('resends and recovers a delivery whose waiting job was cancelled, and refuses one a job will send', async () => {
    const hook = await endpoint('/cancelled', { eventPatterns: ['cancel.*'] });
    const since = new Date(clock.now().getTime() - 1000).toISOString();
    const first = await waitingJob('/cancelled', 'cancel.one');
    const second = await waitingJob('/cancelled', 'cancel.two');
    const [a, b] = [first, second].map(
      (waiting) => async () => (await deliveries(hook.id)).find((d) => d.eventId === waiting.eventId)!,
    );
    // Its job waits to retry: it is sent again on its own.
    await t
      .http()
      .post(`/webhook-deliveries/${(await a()).id}/resend`)
      .set(admin)
      .expect(409);
    for (const { jobId } of [first, second])
      await t.http().post(`/jobs/${jobId}/cancel`).set(admin).expect(200);

    await t
      .http()
      .post(`/webhook-deliveries/${(await a()).id}/resend`)
      .set(admin)
      .expect(202);
    const recovered = (
      await t.http().post(`/webhook-endpoints/${hook.id}/recover`).set(admin).send({ since }).expect(200)
    ).body as { resent: number };
    await arrived('/cancelled', 4);
    await settled(hook.id, 2);

    expect(recovered.resent).toBe(1);
    expect([await a(), await b()].map((d) => [d.status, d.attemptCount])).toEqual([
      ['succeeded', 2],
      ['succeeded', 2],
    ]);
  });

  it('sends each failed delivery once more however many recoveries run at the same time', async () => {
    const hook = await endpoint('/racing', { eventPatterns: ['race.*'] });
    receiver.answerAlways('/racing', { status: 500 });
    const since = new Date(clock.now().getTime() - 1000).toISOString();
    const events = [await post('race.one'), await post('race.two')];
    await settled(hook.id, 2);
    receiver.answerAlways('/racing', { status: 200 });

    const calls = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.http().post(`/webhook-endpoints/${hook.id}/recover`).set(admin).send({ since }).expect(200),
      ),
    );
    await settled(hook.id, 2);
    // Time for a job enqueued twice to send a second time.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(calls.reduce((sum, call) => sum + (call.body as { resent: number }).resent, 0)).toBe(2);
    const ids = receiver.received('/racing').map((r) => r.headers['webhook-id']);
    for (const eventId of events) expect(ids.filter((id) => id === eventId)).toHaveLength(4);
  });

  it('delivers to an ordered endpoint one at a time in event order, a failed one holding back the rest', async () => {
    const hook = await endpoint('/ordered', { ordered: true });
    receiver.answer('/ordered', { status: 500 });

    const events = [];
    for (let n = 1; n <= 3; n++) events.push(await post('order.created', { n }));
    await arrived('/ordered', 4);
    await settled(hook.id, 3);

    expect(receiver.received('/ordered').map((r) => r.headers['webhook-id'])).toEqual([
      events[0],
      events[0],
      events[1],
      events[2],
    ]);
  });

  it('does not hold an ordered endpoint back behind a delivery whose job was cancelled while it waited', async () => {
    const hook = await endpoint('/held', { ordered: true, eventPatterns: ['queue.*'] });
    // The first attempt is told to come back in a minute: the delivery stays pending, its job waits.
    receiver.answer('/held', { status: 429, retryAfter: 60 });
    const first = await post('queue.order', { n: 1 });
    await arrived('/held', 1);
    await waitFor(
      () => deliveries(hook.id),
      ([only]) => only?.attemptCount === 1,
    );
    const { jobs } = (await t.http().get(`/events/${first}`).set(admin).expect(200)).body as {
      jobs: { id: string; type: string }[];
    };
    const job = jobs.find((j) => j.type === 'webhooks.deliver')!;
    await t.http().post(`/jobs/${job.id}/cancel`).set(admin).expect(200);

    const second = await post('queue.order', { n: 2 });
    const received = await arrived('/held', 2);
    const settledNow = await settled(hook.id, 2);
    const [a, b] = [first, second].map((id) => settledNow.find((d) => d.eventId === id)!);

    expect(received.map((r) => r.headers['webhook-id'])).toEqual([first, second]);
    expect(a).toMatchObject({ eventId: first, status: 'failed' });
    expect((await delivery(a.id)).lastError).toContain('cancelled');
    expect(b).toMatchObject({ eventId: second, status: 'succeeded' });
  });

  it('keeps the attempt of a delivery whose job is cancelled mid-request, and fails the delivery', async () => {
    const hook = await endpoint('/slow', { eventPatterns: ['slow.*'] });
    receiver.answer('/slow', { status: 200, delayMs: 5000 });
    const eventId = await post('slow.thing');
    await arrived('/slow', 1);
    const event = (await t.http().get(`/events/${eventId}`).set(admin).expect(200)).body as {
      jobs: { id: string }[];
    };

    await t.http().post(`/jobs/${event.jobs[0].id}/cancel`).set(admin).expect(200);
    const [failed] = await settled(hook.id, 1);

    expect(failed).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect((await delivery(failed.id)).attempts[0]).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/^stopped: /) as string,
    });
  });

  it('keeps to the endpoint rate limit, deliveries over it waiting without spending attempts', async () => {
    const hook = await endpoint('/limited', {
      eventPatterns: ['limited.*'],
      rateLimit: { requests: 1, perMs: 1000 },
    });

    for (let n = 1; n <= 3; n++) await post('limited.thing', { n });
    const received = await arrived('/limited', 3);
    const done = await settled(hook.id, 3);

    const at = received.map((r) => r.at.getTime()).sort((a, b) => a - b);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(900);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(900);
    expect(done.map((d) => [d.status, d.attemptCount])).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect(await getEndpoint(hook.id)).toMatchObject({ rateLimit: { requests: 1, perMs: 1000 } });
  });

  it('signs with both secrets for 24 hours after a rotation', async () => {
    const hook = await endpoint('/rotated');
    const rotated = await rotate(hook.id);
    expect(rotated.previous?.secret).toBe(hook.secret);
    expect(rotated.secret).not.toBe(hook.secret);

    await post('order.created');
    const [received] = await arrived('/rotated', 1);

    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(hook.secret, received)).toBe(true);
    expect(verifies(rotated.secret, received)).toBe(true);
  });

  it('keeps every secret rotated out within 24 hours signing when it is rotated twice', async () => {
    const hook = await endpoint('/rotated-twice');
    const first = await rotate(hook.id);
    const second = await rotate(hook.id);

    await post('order.created');
    const [received] = await arrived('/rotated-twice', 1);

    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(3);
    expect(verifies(hook.secret, received)).toBe(true);
    expect(verifies(first.secret, received)).toBe(true);
    expect(verifies(second.secret, received)).toBe(true);
    expect(second.previous?.secret).toBe(first.secret);
    expect(second.previousSecrets.map((p) => p.secret)).toEqual([first.secret, hook.secret]);
  });

  it('drops a secret rotated out more than 24 hours ago when it is rotated again', async () => {
    const hook = await endpoint('/rotated-apart');
    const now = clock.now().getTime();
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(now - 25 * HOUR));
    const first = await rotate(hook.id);
    jest.restoreAllMocks();
    const second = await rotate(hook.id);

    await post('order.created');
    const [received] = await arrived('/rotated-apart', 1);

    expect(verifies(hook.secret, received)).toBe(false);
    expect(verifies(first.secret, received)).toBe(true);
    expect(verifies(second.secret, received)).toBe(true);
    expect(second.previousSecrets.map((p) => p.secret)).toEqual([first.secret]);
  });

  it('keeps at most 10 previous secrets however often it is rotated', async () => {
    const hook = await endpoint('/rotated-often');
    const rotations = [];
    for (let i = 0; i < 12; i++) rotations.push(await rotate(hook.id));
    const secrets = (await t.http().get(`/webhook-endpoints/${hook.id}/secret`).set(admin).expect(200))
      .body as Awaited<ReturnType<typeof rotate>>;

    expect(secrets.secret).toBe(rotations[11].secret);
    expect(secrets.previousSecrets.map((p) => p.secret)).toEqual(
      rotations
        .slice(1, 11)
        .reverse()
        .map((r) => r.secret),
    );
  });

  it('signs with the new secret only once 24 hours have passed since the rotation', async () => {
    const hook = await endpoint('/rotated-long-ago');
    // The rotation happened 25 hours ago: the clock goes back for it rather than forward for the
    // deliveries, whose jobs Bull would hold back for the time jumped.
    const now = clock.now().getTime();
    jest.spyOn(clock, 'now').mockImplementation(() => new Date(now - 25 * HOUR));
    const rotated = await rotate(hook.id);
    jest.restoreAllMocks();

    await post('order.created');
    const [received] = await arrived('/rotated-long-ago', 1);
    const secrets = (await t.http().get(`/webhook-endpoints/${hook.id}/secret`).set(admin).expect(200))
      .body as {
      secret: string;
      previous: unknown;
    };

    expect(String(received.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(rotated.secret, received)).toBe(true);
    expect(verifies(hook.secret, received)).toBe(false);
    expect(secrets).toEqual({ secret: rotated.secret, previous: null, previousSecrets: [] });
  });

  it('shows secrets and header values only through the secret routes', async () => {
    const hook = await endpoint('/quiet', { headers: { authorization: 'Bearer quiet-token-9a8b7c6d' } });
    // The receiver fails once, echoing the header back.
    receiver.answer('/quiet', { status: 401, body: '{"error":"unknown token Bearer quiet-token-9a8b7c6d"}' });
    await post('order.created');
    const [done] = await settled(hook.id, 1);
    const jobs = (
      await t.http().get('/jobs').query({ type: 'webhooks.deliver', limit: 200 }).set(admin).expect(200)
    ).body as { items: { id: string }[] };

    const shown = [
      JSON.stringify(
        (await t.http().get('/webhook-endpoints').query({ limit: 200 }).set(admin).expect(200)).body,
      ),
      JSON.stringify(await getEndpoint(hook.id)),
      JSON.stringify(await delivery(done.id)),
      ...(await Promise.all(
        jobs.items.map(async (job) =>
          JSON.stringify((await t.http().get(`/jobs/${job.id}`).set(admin).expect(200)).body),
        ),
      )),
    ].join('\n');
    expect(shown).not.toContain(hook.secret);
    expect(shown).not.toContain('quiet-token-9a8b7c6d');
    expect((await getEndpoint(hook.id)).headerNames).toEqual(['authorization']);
    expect(
      (
        (await t.http().get(`/webhook-endpoints/${hook.id}/secret`).set(admin).expect(200)).body as {
          secret: string;
        }
      ).secret,
    ).toBe(hook.secret);
  });

  it('refuses endpoints that could not work with 422, and unknown ones with 404', async () => {
    const refused = async (body: object) =>
      (await t.http().post('/webhook-endpoints').set(admin).send(body).expect(422)).body as {
        error: string;
        details: { field: string }[];
      };

    expect(await refused({ url: 'ftp://files.example.com/drop', eventPatterns: ['order.*'] })).toMatchObject({
      error: 'INVALID_ENDPOINT',
      details: [{ field: 'url' }],
    });
    expect(
      (await refused({ url: 'not a url', eventPatterns: ['Order!'] })).details.map((d) => d.field),
    ).toEqual(['url', 'eventPatterns']);
    expect(
      (
        await refused({
          url: 'https://x.example.com',
          eventPatterns: ['a.b'],
          headers: { 'webhook-id': 'mine' },
        })
      ).details,
    ).toEqual([expect.objectContaining({ field: 'headers' })]);
    // Headers the HTTP client refuses to send: every delivery would fail before reaching the receiver.
    for (const headers of [
      { expect: '100-continue' },
      { upgrade: 'websocket' },
      { 'keep-alive': 'timeout=5' },
      { 'x-mark': 'Bearer ✓' },
    ]) {
      expect(
        (await refused({ url: 'https://x.example.com', eventPatterns: ['a.b'], headers })).details,
      ).toEqual([expect.objectContaining({ field: 'headers' })]);
    }
    // $where would compile its string into a function run in the server on every event.
    expect(
      await refused({
        url: 'https://x.example.com',
        eventPatterns: ['a.b'],
        filter: { $where: 'globalThis.__whereRan = true' },
      }),
    ).toMatchObject({ details: [{ field: 'filter' }] });
    expect((globalThis as Record<string, unknown>).__whereRan).toBeUndefined();
    await t.http().get('/webhook-endpoints/019abc12-3def-7456-89ab-cdef01234567').set(admin).expect(404);
  });

  it('keeps at most 1 KB of a response, cut between characters rather than inside one', async () => {
    const hook = await endpoint('/accented');
    // 1 + 2 × 600 bytes: the 1024th byte is the first half of an é.
    receiver.answer('/accented', { status: 200, contentType: 'text/plain', body: `a${'é'.repeat(600)}` });

    await post('order.created');
    const [done] = await settled(hook.id, 1);

    const { response } = (await delivery(done.id)).attempts[0];
    expect(response).toBe(`a${'é'.repeat(511)}`);
    expect(Buffer.byteLength(response!)).toBeLessThanOrEqual(1024);
  });

  it('keeps the attempt of a binary response once, with no NUL a database could refuse', async () => {
    const hook = await endpoint('/binary', { eventPatterns: ['binary.*'] });
    receiver.answer('/binary', {
      status: 200,
      contentType: 'application/octet-stream',
      body: Buffer.from([0x00, 0x41, 0xff, 0x00, 0x42]),
    });

    await post('binary.thing');
    const [done] = await settled(hook.id, 1);
    // Time for an attempt that could not be kept to be sent again.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(receiver.received('/binary')).toHaveLength(1);
    expect((await delivery(done.id)).attempts).toEqual([
      expect.objectContaining({ statusCode: 200, response: '\uFFFDA\uFFFD\uFFFDB' }),
    ]);
  });

  it('keeps a short header value from masking the receiver answers it shows', async () => {
    const hook = await endpoint('/versioned', {
      eventPatterns: ['versioned.*'],
      headers: { 'x-api-version': '1' },
    });
    const answer = '{"error":"order 1001 is unknown to v1"}';
    receiver.answer('/versioned', { status: 500, body: answer });

    await post('versioned.thing');
    const [done] = await settled(hook.id, 1);

    const [failed] = (await delivery(done.id)).attempts;
    expect(failed.response).toBe(answer);
    expect(failed.error).toContain(`${receiver.url}/versioned answered 500`);
    expect(receiver.received('/versioned')[0].headers['x-api-version']).toBe('1');
  });

  it('sends another endpoint its delivery once when an endpoint is deleted during its attempt', async () => {
    const deleted = await endpoint('/deleted-midway', { eventPatterns: ['midway.*'] });
    const kept = await endpoint('/kept-midway', { eventPatterns: ['midway.*'] });
    // Both answer together, so their attempts are recorded together.
    receiver.answer('/deleted-midway', { status: 200, delayMs: 1000 });
    receiver.answer('/kept-midway', { status: 200, delayMs: 1000 });

    await post('midway.thing');
    await arrived('/deleted-midway', 1);
    await t.http().delete(`/webhook-endpoints/${deleted.id}`).set(admin).expect(204);
    const [done] = await settled(kept.id, 1);
    // Time for an attempt that could not be kept to be sent again.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    expect(receiver.received('/kept-midway')).toHaveLength(1);
    expect((await delivery(done.id)).attempts).toEqual([expect.objectContaining({ statusCode: 200 })]);
    expect(receiver.received('/deleted-midway')).toHaveLength(1);
  });

  it('cancels the jobs of the pending deliveries of an endpoint it deletes', async () => {
    const hook = await endpoint('/deleted', { eventPatterns: ['deleted.*'] });
    const { jobId } = await waitingJob('/deleted', 'deleted.thing');

    await t.http().delete(`/webhook-endpoints/${hook.id}`).set(admin).expect(204);

    const job = (await t.http().get(`/jobs/${jobId}`).set(admin).expect(200)).body as { status: string };
    expect(job.status).toBe('cancelled');
    await t.http().get(`/webhook-endpoints/${hook.id}/deliveries`).set(admin).expect(404);
  });

  it('refuses with 400 a PATCH that empties a setting that cannot be empty, changing nothing', async () => {
    const hook = await endpoint('/patched', { eventPatterns: ['patched.*'], headers: { 'x-team': 'blue' } });

    for (const field of ['eventPatterns', 'headers', 'enabled', 'ordered']) {
      const refused = (
        await t
          .http()
          .patch(`/webhook-endpoints/${hook.id}`)
          .set(admin)
          .send({ [field]: null })
          .expect(400)
      ).body as { error: string; message: string };
      expect(refused.error).toBe('VALIDATION_FAILED');
      expect(refused.message).toContain(field);
    }

    expect(await getEndpoint(hook.id)).toMatchObject({
      eventPatterns: ['patched.*'],
      headerNames: ['x-team'],
      enabled: true,
      ordered: false,
    });
  });

  const rotate = async (id: string) =>
    (await t.http().post(`/webhook-endpoints/${id}/rotate-secret`).set(admin).expect(200)).body as {
      secret: string;
      previous: { secret: string; expiresAt: string } | null;
      previousSecrets: { secret: string; expiresAt: string }[];
    };
  const disabledEvents = async (endpointId: string): Promise<{ data: { endpointId: string } }[]> =>
    (
      (
        await t
          .http()
          .get('/events')
          .query({ name: 'webhook.endpoint.disabled', limit: 200 })
          .set(admin)
          .expect(200)
      ).body as { items: { data: { endpointId: string } }[] }
    ).items.filter((event) => event.data.endpointId === endpointId);
});

describe(`outbound webhooks to private addresses (${mode})`, () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('refuses loopback addresses and names that resolve to them, without retrying', async () => {
    const port = new URL(receiver.url).port;
    const hooks = [];
    for (const url of [
      `${receiver.url}/ip`,
      `http://localhost:${port}/name`,
      'http://169.254.169.254/latest',
    ]) {
      hooks.push(
        (
          (
            await t
              .http()
              .post('/webhook-endpoints')
              .set(admin)
              .send({ url, eventPatterns: ['order.*'] })
              .expect(201)
          ).body as { id: string }
        ).id,
      );
    }

    await t.http().post('/events').set(admin).send({ name: 'order.created', source: 'shop' }).expect(202);
    const failed = await Promise.all(
      hooks.map((id) =>
        waitFor(
          async () =>
            (
              (await t.http().get(`/webhook-endpoints/${id}/deliveries`).set(admin).expect(200)).body as {
                items: Delivery[];
              }
            ).items,
          (items) => items.length === 1 && items[0].status === 'failed',
        ),
      ),
    );

    for (const [item] of failed) {
      expect(item.attemptCount).toBe(1);
      expect(item.status).toBe('failed');
      const details = (await t.http().get(`/webhook-deliveries/${item.id}`).set(admin).expect(200))
        .body as Delivery;
      expect(details.attempts[0].error).toMatch(/private, loopback or link-local/);
    }
    expect(receiver.received('/ip')).toHaveLength(0);
    expect(receiver.received('/name')).toHaveLength(0);
  });
});

describe(`outbound webhook secrets across a key rotation (${mode})`, () => {
  const OLD_KEY = 'a1'.repeat(32);
  const NEW_KEY = 'b2'.repeat(32);

  it('seals endpoint secrets and headers again with the new key, so they open once the previous key is gone', async () => {
    const database = await TestDatabase.create();
    try {
      const before = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const created = (
        await before
          .http()
          .post('/webhook-endpoints')
          .set(admin)
          .send({
            url: 'https://hooks.example.com/in',
            eventPatterns: ['order.*'],
            headers: { authorization: 'Bearer rotated-key-token' },
          })
          .expect(201)
      ).body as { id: string; secret: string };
      await before.close();

      const rotating = await startTestApp({
        database,
        env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
      });
      const job = await jobEnded(rotating, 'webhooks.reseal', 'succeeded');
      expect(job?.result).toEqual({ resealed: 1, current: 0 });
      await rotating.close();

      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        const secret = (
          await after.http().get(`/webhook-endpoints/${created.id}/secret`).set(admin).expect(200)
        ).body as { secret: string };
        expect(secret.secret).toBe(created.secret);
        const shown = (await after.http().get(`/webhook-endpoints/${created.id}`).set(admin).expect(200))
          .body as {
          headerNames: string[];
        };
        expect(shown.headerNames).toEqual(['authorization']);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
  it('seals the other endpoints again, and fails for good naming it, when an endpoint opens with neither key', async () => {
    const database = await TestDatabase.create();
    try {
      const endpoint = async (app: TestApp) =>
        (
          await app
            .http()
            .post('/webhook-endpoints')
            .set(admin)
            .send({ url: 'https://hooks.example.com/in', eventPatterns: ['order.*'] })
            .expect(201)
        ).body as { id: string; secret: string };
      // Made first, so a reseal that stops at it never reaches the other.
      const other = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: 'c3'.repeat(32) } });
      const stray = await endpoint(other);
      await other.close();
      const before = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: OLD_KEY } });
      const rotated = await endpoint(before);
      await before.close();

      const rotating = await startTestApp({
        database,
        env: { JUNCTION_SECRET_KEY: NEW_KEY, JUNCTION_SECRET_KEY_PREVIOUS: OLD_KEY },
      });
      const job = await jobEnded(rotating, 'webhooks.reseal', 'dead');
      const detail = (await rotating.http().get(`/jobs/${job!.id}`).set(admin).expect(200)).body;
      expect(detail).toMatchObject({ attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(detail.lastError.message).toContain(stray.id);
      expect(detail.lastError.message).not.toContain(rotated.id);
      await rotating.close();

      const after = await startTestApp({ database, env: { JUNCTION_SECRET_KEY: NEW_KEY } });
      try {
        const secret = (
          await after.http().get(`/webhook-endpoints/${rotated.id}/secret`).set(admin).expect(200)
        ).body as { secret: string };
        expect(secret.secret).toBe(rotated.secret);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
    }
  });
});

describe(`outbound webhooks in the logs (${mode})`, () => {
  const TOKEN = 'receiver-log-token-5e4d3c2b1a';
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let junction: JunctionProcess;
  const api = () => junction.api();

  beforeAll(async () => {
    database = await TestDatabase.create();
    receiver = await WebhookReceiver.start();
    junction = await startJunctionProcess(
      database.env({
        JUNCTION_ADMIN_KEY: ADMIN_KEY,
        LOG_LEVEL: 'trace',
        JUNCTION_WEBHOOK_ALLOW_PRIVATE: 'true',
        JUNCTION_WEBHOOK_RETRY_SCHEDULE: '0,200ms',
      }),
    );
  });
  afterAll(async () => {
    await junction.stop();
    await receiver.close();
    await database.drop();
  });

  it('writes no signing secret or header value into any log line', async () => {
    const created = (
      await api()
        .post('/webhook-endpoints')
        .set(admin)
        .send({
          url: `${receiver.url}/logged`,
          eventPatterns: ['order.*'],
          headers: { authorization: `Bearer ${TOKEN}` },
        })
        .expect(201)
    ).body as { id: string; secret: string };
    receiver.expectSecret('/logged', created.secret);
    // The receiver fails once, echoing the token back in its error body.
    receiver.answer('/logged', { status: 500, body: JSON.stringify({ error: `bad token Bearer ${TOKEN}` }) });
    const rotated = (
      await api().post(`/webhook-endpoints/${created.id}/rotate-secret`).set(admin).expect(200)
    ).body as { secret: string };
    await api().get(`/webhook-endpoints/${created.id}/secret`).set(admin).expect(200);
    await api().post('/events').set(admin).send({ name: 'order.created', source: 'shop' }).expect(202);
    await waitFor(
      () => Promise.resolve(receiver.received('/logged')),
      (received) => received.length === 2,
    );
    await junction.stop();

    expect(junction.output().length).toBeGreaterThan(1000);
    expect(junction.output()).toContain('/webhook-endpoints');
    expect(junction.output()).toContain('/secret');
    expect(receiver.received('/logged').every((r) => r.verified)).toBe(true);
    for (const secret of [created.secret, rotated.secret, TOKEN])
      expect(junction.output()).not.toContain(secret);
  });
});

/** Whether `Webhook.verify` accepts the delivery with this secret. */
function verifies(secret: string, received: ReceivedDelivery): boolean {
  try {
    new Webhook(secret).verify(received.body, headersOf(received));
    return true;
  } catch {
    return false;
  }
}

function headersOf(received: ReceivedDelivery): Record<string, string> {
  return {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  };
}
