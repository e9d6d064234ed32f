import type { ConsumeMessage } from 'amqplib';
import { BROKER_URL, TestBroker } from './support/rabbit.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const PASSWORD = 'amqp-broker-password-5e6f7a8bWXYZ';
const COUNT = 1000;

interface EventBody {
  id: string;
  name: string;
  source: string;
  data: Record<string, unknown>;
  idempotencyKey: string | null;
}

/** The AMQP bus against the real RabbitMQ: events out through amqp.publish, messages in through a consumer. */
describe('the amqp provider', () => {
  let t: TestApp;
  let broker: TestBroker;
  let username: string;
  let serial = 0;

  beforeAll(async () => {
    broker = await TestBroker.open();
    username = await broker.user(PASSWORD);
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await broker?.close();
  });

  async function connect(
    config: Record<string, unknown>,
  ): Promise<{ id: string; name: string; body: unknown }> {
    const name = `bus${++serial}-${broker.suffix}`;
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'amqp',
        name,
        config: { url: BROKER_URL, ...config },
        credentials: { type: 'basic', username, password: PASSWORD },
      })
      .expect(201);
    return { id: created.body.id as string, name, body: created.body };
  }

  async function postEvents(events: { name: string; source: string; data: unknown }[]): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < events.length; start += 500) {
      const answer = await t
        .http()
        .post('/events/batch')
        .set(admin)
        .send({ events: events.slice(start, start + 500) })
        .expect(200);
      ids.push(...(answer.body.items as { eventId: string }[]).map((item) => item.eventId));
    }
    return ids;
  }

  async function eventsFrom(source: string): Promise<EventBody[]> {
    const all: EventBody[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = { source, limit: '200', ...(cursor ? { cursor } : {}) };
      const page = await t.http().get('/events').query(query).set(admin).expect(200);
      all.push(...(page.body.items as EventBody[]));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    return all;
  }

  const ready = async () =>
    (await t.http().get('/health/ready')).body as {
      status: string;
      info?: Record<string, unknown>;
      error?: Record<string, unknown>;
    };
  const consumerState = async (name: string) => {
    const body = await ready();
    return (body.info?.[`amqp:${name}`] ?? body.error?.[`amqp:${name}`]) as { status: string } | undefined;
  };

  it('publishes 1,000 routed events, each once, with the event as a persistent JSON message', async () => {
    const exchange = await broker.exchange('events');
    const sink = await broker.queue('sink');
    await broker.channel.bindQueue(sink, exchange, '#');
    const received: ConsumeMessage[] = [];
    await broker.channel.consume(sink, (message) => message && received.push(message), { noAck: true });

    const { id } = await connect({ exchange });
    const eventName = `bus${broker.suffix}.order.created`;
    await t
      .http()
      .post('/routes')
      .set(admin)
      .send({
        name: `to the bus ${broker.suffix}`,
        eventPattern: eventName,
        jobType: 'amqp.publish',
        payloadTemplate: { connectionId: id },
      })
      .expect(201);

    const ids = await postEvents(
      Array.from({ length: COUNT }, (_, i) => ({ name: eventName, source: 'shop', data: { order: i } })),
    );
    await waitFor(
      () => Promise.resolve(received.length),
      (count) => count >= COUNT,
      90_000,
      200,
    );
    // Anything sent twice would have arrived by now too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received).toHaveLength(COUNT);
    const byId = new Map(received.map((message) => [message.properties.messageId as string, message]));
    expect(byId.size).toBe(COUNT);
    expect([...byId.keys()].sort()).toEqual([...ids].sort());

    const first = byId.get(ids[0])!;
    expect(first.fields.routingKey).toBe(eventName);
    expect(first.properties).toMatchObject({
      contentType: 'application/json',
      deliveryMode: 2,
      type: eventName,
    });
    expect(JSON.parse(first.content.toString())).toMatchObject({
      id: ids[0],
      name: eventName,
      source: 'shop',
      data: { order: 0 },
    });
    const metrics = await t.http().get('/metrics').set(admin).expect(200);
    expect(metrics.text).toMatch(
      new RegExp(
        `junction_amqp_messages_published_total\\{connection="bus\\d+-${broker.suffix}",outcome="confirmed"\\} ${COUNT}`,
      ),
    );
  }, 120_000);

  it('turns 1,000 queued messages into 1,000 events, stores a redelivered one once, and dead-letters poison', async () => {
    const dlx = await broker.exchange('dlx', 'fanout');
    const dead = await broker.queue('dead');
    await broker.channel.bindQueue(dead, dlx, '');
    const inbox = await broker.queue('inbox', { deadLetterExchange: dlx });
    const { id, name } = await connect({ consume: { queue: inbox } });
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'up',
      10_000,
    );

    const type = `bus${broker.suffix}.parcel.scanned`;
    for (let i = 0; i < COUNT; i++) {
      broker.channel.sendToQueue(inbox, Buffer.from(JSON.stringify({ parcel: i })), {
        messageId: `parcel-${i}`,
        type,
        contentType: 'application/json',
      });
    }
    // The same message again, as a broker redelivers it or a sender retries it.
    broker.channel.sendToQueue(inbox, Buffer.from(JSON.stringify({ parcel: 0 })), {
      messageId: 'parcel-0',
      type,
    });
    broker.channel.sendToQueue(inbox, Buffer.from('this is { not JSON'), { messageId: 'poison-1', type });

    const source = `connection:${id}`;
    await waitFor(
      () => eventsFrom(source).then((events) => events.length),
      (count) => count >= COUNT,
      90_000,
      500,
    );
    const poisoned = await waitFor(
      () => broker.channel.get(dead, { noAck: true }),
      (message) => message !== false,
      10_000,
      200,
    );
    expect(poisoned && poisoned.properties.messageId).toBe('poison-1');
    await waitFor(
      async () => (await t.http().get('/metrics').set(admin)).text,
      (text) =>
        new RegExp(
          `junction_amqp_messages_consumed_total\\{connection="${name}",outcome="duplicate"\\} 1`,
        ).test(text),
      10_000,
      200,
    );

    const events = await eventsFrom(source);
    expect(events).toHaveLength(COUNT);
    expect(new Set(events.map((event) => event.idempotencyKey)).size).toBe(COUNT);
    const parcel7 = events.find((event) => event.idempotencyKey === 'parcel-7');
    expect(parcel7).toMatchObject({ name: type, source, data: { parcel: 7 } });
    expect((await broker.channel.checkQueue(inbox)).messageCount).toBe(0);
  }, 120_000);

  it('comes back by itself after the broker closes its connection, and goes on consuming', async () => {
    const inbox = await broker.queue('again');
    const { id, name } = await connect({ consume: { queue: inbox, eventName: 'parcel.returned' } });
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'up',
      10_000,
    );

    expect(await broker.closeConnections(id)).toBeGreaterThan(0);
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'down',
      5000,
      20,
    );
    expect((await t.http().get('/health/ready')).status).toBe(503);
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'up',
      15_000,
    );

    broker.channel.sendToQueue(inbox, Buffer.from('{"parcel":"after"}'), { messageId: 'after-1' });
    const [event] = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length === 1,
      10_000,
      200,
    );
    expect(event).toMatchObject({
      name: 'parcel.returned',
      data: { parcel: 'after' },
      idempotencyKey: 'after-1',
    });
  }, 60_000);

  it('stops consuming at once when paused, starts again when resumed, and keeps readiness for a paused one', async () => {
    const inbox = await broker.queue('paused');
    const { id, name } = await connect({ consume: { queue: inbox, eventName: 'parcel.held' } });
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'up',
      10_000,
    );

    await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
    await waitFor(
      () => consumerState(name),
      (state) => state === undefined,
      2000,
      20,
    );
    expect((await broker.channel.checkQueue(inbox)).consumerCount).toBe(0);
    broker.channel.sendToQueue(inbox, Buffer.from('{"held":true}'), { messageId: 'held-1' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await eventsFrom(`connection:${id}`)).toHaveLength(0);

    await t.http().post(`/connections/${id}/resume`).set(admin).expect(200);
    await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length === 1,
      10_000,
      100,
    );
    await t.http().delete(`/connections/${id}`).set(admin).expect(204);
    await waitFor(
      () => consumerState(name),
      (state) => state === undefined,
      2000,
      20,
    );
  });

  it('tests a connection, and shows its password in no answer', async () => {
    const { id, body } = await connect({});
    expect(JSON.stringify(body)).not.toContain(PASSWORD);
    const works = await t.http().post(`/connections/${id}/test`).set(admin).expect(200);
    expect(works.body).toMatchObject({ ok: true });

    await t
      .http()
      .put(`/connections/${id}/credentials`)
      .set(admin)
      .send({ credentials: { type: 'basic', username, password: `${PASSWORD}-wrong` } })
      .expect(200);
    const refused = await t.http().post(`/connections/${id}/test`).set(admin).expect(200);
    expect(refused.body).toMatchObject({ ok: false, code: 'AUTH' });

    const answers = [
      refused,
      await t.http().get(`/connections/${id}`).set(admin).expect(200),
      await t.http().get('/connections?provider=amqp').set(admin).expect(200),
      await t.http().get('/providers/amqp').set(admin).expect(200),
    ];
    for (const answer of answers) expect(answer.text).not.toContain(PASSWORD);
  });

  it('refuses a broker URL that carries a password', async () => {
    const answer = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'amqp',
        name: `inline-${broker.suffix}`,
        config: { url: `amqp://${username}:${PASSWORD}@127.0.0.1:5672/` },
        credentials: { type: 'none' },
      })
      .expect(422);
    expect(answer.body.details).toEqual([expect.objectContaining({ path: '/config/url' })]);
  });
});
