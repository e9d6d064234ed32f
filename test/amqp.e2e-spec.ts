import { gzipSync } from 'node:zlib';
import type { ConsumeMessage } from 'amqplib';
import { MetricsRegistry } from '../src/common/metrics-registry.js';
import { connectOptions } from '../src/modules/providers/amqp/amqp-broker.js';
import { AmqpConsumer } from '../src/modules/providers/amqp/amqp-consumer.js';
import { AmqpLink } from '../src/modules/providers/amqp/amqp-link.js';
import { AmqpLinks } from '../src/modules/providers/amqp/amqp-links.service.js';
import { AmqpMetrics } from '../src/modules/providers/amqp/amqp.metrics.js';
import { ConnectionStore } from '../src/modules/providers/connection.store.js';
import { ConnectionsService } from '../src/modules/providers/connections.service.js';
import { databaseOutage, failingEventInserts } from './support/event-faults.js';
import { BROKER_URL, TestBroker } from './support/rabbit.js';
import { ADMIN_KEY, bearer, startTestApp } from './support/test-app.js';
import type { TestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const PASSWORD = 'amqp-broker-password-5e6f7a8bWXYZ';
const COUNT = 1000;
const onPostgres = process.env.DATABASE_URL?.startsWith('postgres') === true;
/** Restarting the machine's shared broker disturbs anything else using it: only on request. */
const mayRestartBroker = process.env.AMQP_RESTART_TEST === '1';

interface JobBody {
  id: string;
  status: string;
  attempt: number;
  result: unknown;
  lastError: { code: string; message: string } | null;
  logs: { message: string }[];
}

interface EventBody {
  id: string;
  name: string;
  source: string;
  occurredAt: string;
  receivedAt: string;
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
  const consumerReaches = (name: string, status: string, ms: number) =>
    waitFor(
      () => consumerState(name),
      (state) => state?.status === status,
      ms,
    );

  const job = async (id: string) =>
    (await t.http().get(`/jobs/${id}`).set(admin).expect(200)).body as JobBody;
  const publishJob = async (payload: Record<string, unknown>): Promise<string> =>
    (await t.http().post('/jobs').set(admin).send({ type: 'amqp.publish', payload }).expect(201)).body
      .id as string;
  const finished = (id: string) =>
    waitFor(
      () => job(id),
      (found) => ['succeeded', 'dead'].includes(found.status),
      20_000,
      100,
    );

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

  it('turns 1,000 queued messages into 1,000 events, stores a redelivered one once, and dead-letters poison and refused ones', async () => {
    const dlx = await broker.exchange('dlx', 'fanout');
    const dead = await broker.queue('dead');
    await broker.channel.bindQueue(dead, dlx, '');
    const inbox = await broker.queue('inbox', { deadLetterExchange: dlx });
    const { id, name } = await connect({ consume: { queue: inbox } });
    await consumerReaches(name, 'up', 10_000);

    const type = `bus${broker.suffix}.parcel.scanned`;
    await t
      .http()
      .put(`/event-types/${type}`)
      .set(admin)
      .send({ description: 'A parcel scanned', schema: { type: 'object', required: ['parcel'] } })
      .expect(200);
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
    // JSON, but not what the event type's schema asks for: the events module refuses it.
    broker.channel.sendToQueue(inbox, Buffer.from('{"box":1}'), { messageId: 'refused-1', type });

    const source = `connection:${id}`;
    await waitFor(
      () => eventsFrom(source).then((events) => events.length),
      (count) => count >= COUNT,
      90_000,
      500,
    );
    const deadLettered: string[] = [];
    await waitFor(
      async () => {
        const message = await broker.channel.get(dead, { noAck: true });
        if (message) deadLettered.push(message.properties.messageId as string);
        return deadLettered.length;
      },
      (count) => count >= 2,
      10_000,
      100,
    );
    expect(deadLettered.sort()).toEqual(['poison-1', 'refused-1']);
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

  /** A consumed queue whose dead letters go to a queue of their own, and the connection consuming it. */
  async function consumedWithDeadLetters(kind: string) {
    const dlx = await broker.exchange(`${kind}-dlx`, 'fanout');
    const dead = await broker.queue(`${kind}-dead`);
    await broker.channel.bindQueue(dead, dlx, '');
    const inbox = await broker.queue(kind, { deadLetterExchange: dlx });
    const connection = await connect({ consume: { queue: inbox, eventName: `parcel.${kind}` } });
    await consumerReaches(connection.name, 'up', 10_000);
    return { ...connection, inbox, dead };
  }

  const consumedCount = async (name: string, outcome: string): Promise<number> => {
    const text = (await t.http().get('/metrics').set(admin).expect(200)).text;
    const line = new RegExp(
      `^junction_amqp_messages_consumed_total\\{connection="${name}",outcome="${outcome}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return line ? Number(line[1]) : 0;
  };

  it('stores a message whose timestamp is no time in seconds, taking the time it arrived, and keeps a good one', async () => {
    const { id, inbox, dead } = await consumedWithDeadLetters('stamped');
    // Microseconds (past what a Date holds) and milliseconds (the year 55,000) sent as seconds.
    broker.channel.sendToQueue(inbox, Buffer.from('{"n":1}'), { messageId: 'micro', timestamp: 1.7e15 });
    broker.channel.sendToQueue(inbox, Buffer.from('{"n":2}'), { messageId: 'milli', timestamp: 1.7e12 });
    broker.channel.sendToQueue(inbox, Buffer.from('{"n":3}'), { messageId: 'seconds', timestamp: 1.7e9 });
    const events = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (found) => found.length === 3,
      10_000,
      100,
    );
    const byKey = new Map(events.map((event) => [event.idempotencyKey, event]));
    for (const key of ['micro', 'milli']) expect(byKey.get(key)!.occurredAt).toBe(byKey.get(key)!.receivedAt);
    expect(byKey.get('seconds')!.occurredAt).toBe(new Date(1.7e12).toISOString());
    expect((await broker.channel.checkQueue(inbox)).messageCount).toBe(0);
    expect((await broker.channel.checkQueue(dead)).messageCount).toBe(0);
  });

  it('keys a message whose id has a control character by its hash, and stores its redelivery once', async () => {
    const { id, inbox } = await consumedWithDeadLetters('nul');
    for (let n = 0; n < 2; n++)
      broker.channel.sendToQueue(inbox, Buffer.from('{"n":1}'), { messageId: 'parcel\u0000one' });
    const [event] = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (found) => found.length === 1,
      10_000,
      100,
    );
    expect(event.idempotencyKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    await waitFor(
      async () => (await broker.channel.checkQueue(inbox)).messageCount,
      (count) => count === 0,
      5000,
      100,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await eventsFrom(`connection:${id}`)).toHaveLength(1);
  });

  it('dead-letters at once, counted, a message its handler fails on unexpectedly, and goes on consuming', async () => {
    const dlx = await broker.exchange('unexpected-dlx', 'fanout');
    const dead = await broker.queue('unexpected-dead');
    await broker.channel.bindQueue(dead, dlx, '');
    const inbox = await broker.queue('unexpected', { deadLetterExchange: dlx });
    const name = `unexpected-${broker.suffix}`;
    const { url, clientName } = connectOptions(
      { url: BROKER_URL },
      { type: 'basic', username, password: PASSWORD },
    );
    const link = new AmqpLink({ connectionId: name, display: BROKER_URL, options: url, clientName });
    const handled: string[] = [];
    // The service's handler decides every message itself, so nothing real reaches the consumer's
    // catch-all today: a handler with a fault of its own stands for the bug it is there for.
    const consumer = new AmqpConsumer(
      { id: name, name },
      { queue: inbox },
      () => link,
      (message) => {
        const messageId = String(message.properties.messageId);
        handled.push(messageId);
        return messageId === 'unexpected-1'
          ? Promise.reject(new TypeError('a fault of the handler'))
          : Promise.resolve('ack');
      },
      () => undefined,
      t.app.get(AmqpMetrics),
    );
    consumer.start();
    try {
      await waitFor(
        () => Promise.resolve(consumer.state),
        (state) => state === 'up',
        10_000,
      );
      broker.channel.sendToQueue(inbox, Buffer.from('{"n":1}'), { messageId: 'unexpected-1' });
      broker.channel.sendToQueue(inbox, Buffer.from('{"n":2}'), { messageId: 'fine-1' });

      const deadLetter = await waitFor(
        () => broker.channel.get(dead, { noAck: true }),
        (message) => message !== false,
        10_000,
        100,
      );
      expect(deadLetter && deadLetter.properties.messageId).toBe('unexpected-1');
      expect(deadLetter && deadLetter.properties.headers?.['x-death']).toEqual([
        expect.objectContaining({ reason: 'rejected', queue: inbox }),
      ]);
      await waitFor(
        () => Promise.resolve(handled.length),
        (count) => count >= 2,
        5000,
      );
      // Anything put back would have come round again by now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(handled.sort()).toEqual(['fine-1', 'unexpected-1']);
      expect(await consumedCount(name, 'rejected')).toBe(1);
      expect(await consumedCount(name, 'requeued')).toBe(0);
      expect(consumer.state).toBe('up');
      expect((await broker.channel.checkQueue(inbox)).messageCount).toBe(0);
    } finally {
      await consumer.stop();
      await link.close();
    }
  });

  it('dead-letters a message that fails again on its redelivery while the database answers, logged and counted', async () => {
    const { id, name, inbox, dead } = await consumedWithDeadLetters('faulty');
    // A fault that comes back with each delivery of this message, as a bug would: a trigger makes
    // storing its event fail (an error, not a refusal) while the database answers everything else.
    const marker = `faulty-${broker.suffix}`;
    const healed = await failingEventInserts(t, marker);
    try {
      broker.channel.sendToQueue(inbox, Buffer.from(JSON.stringify({ marker })), { messageId: 'faulty-1' });
      broker.channel.sendToQueue(inbox, Buffer.from('{"faulty":false}'), { messageId: 'fine-1' });

      const deadLetter = await waitFor(
        () => broker.channel.get(dead, { noAck: true }),
        (message) => message !== false,
        10_000,
        100,
      );
      expect(deadLetter && deadLetter.properties.messageId).toBe('faulty-1');
    } finally {
      await healed();
    }
    // Put back once after a pause, then dead-lettered: no loop.
    expect(await consumedCount(name, 'requeued')).toBe(1);
    expect(await consumedCount(name, 'rejected')).toBe(1);
    const events = await eventsFrom(`connection:${id}`);
    expect(events.map((event) => event.idempotencyKey)).toEqual(['fine-1']);
  });

  // SQLite: another writer holds the lock and writes fail SQLITE_BUSY while reads answer (WAL).
  it('puts a message back, never dead-letters it, while the database does not answer, and stores it after', async () => {
    const { id, name, inbox, dead } = await consumedWithDeadLetters('outage');
    // /metrics reads the connections from the database, so during the outage the counters are read
    // from this process's registry.
    const registry = t.app.get(MetricsRegistry).registry;
    const counted = async (outcome: string) =>
      Number(
        new RegExp(`\\{connection="${name}",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(
          await registry.getSingleMetricAsString('junction_amqp_messages_consumed_total'),
        )?.[1] ?? 0,
      );

    const outageOver = await databaseOutage(t, ['event', 'connection']);
    try {
      broker.channel.sendToQueue(inbox, Buffer.from('{"n":1}'), { messageId: 'during-outage' });
      await waitFor(
        async () => ({ requeued: await counted('requeued'), rejected: await counted('rejected') }),
        ({ requeued, rejected }) => requeued >= 3 || rejected > 0,
        15_000,
        100,
      );
      expect(await counted('rejected')).toBe(0);
    } finally {
      await outageOver();
    }
    const [event] = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (found) => found.length === 1,
      10_000,
      100,
    );
    expect(event.idempotencyKey).toBe('during-outage');
    expect(await consumedCount(name, 'rejected')).toBe(0);
    expect((await broker.channel.checkQueue(dead)).messageCount).toBe(0);
  });

  it('comes back by itself after the broker closes its connection, and goes on consuming', async () => {
    const inbox = await broker.queue('again');
    const { id, name } = await connect({ consume: { queue: inbox, eventName: 'parcel.returned' } });
    await consumerReaches(name, 'up', 10_000);

    expect(await broker.closeConnections(id)).toBeGreaterThan(0);
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'down',
      5000,
      20,
    );
    expect((await t.http().get('/health/ready')).status).toBe(503);
    await consumerReaches(name, 'up', 15_000);

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
    await consumerReaches(name, 'up', 10_000);

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

  it('moves to another queue when its config changes, at once', async () => {
    const first = await broker.queue('first');
    const second = await broker.queue('second');
    const { id, name } = await connect({ consume: { queue: first, eventName: 'parcel.moved' } });
    await consumerReaches(name, 'up', 10_000);

    await t
      .http()
      .patch(`/connections/${id}`)
      .set(admin)
      .send({ config: { url: BROKER_URL, consume: { queue: second, eventName: 'parcel.moved' } } })
      .expect(200);
    await waitFor(
      async () => [
        (await broker.channel.checkQueue(first)).consumerCount,
        (await broker.channel.checkQueue(second)).consumerCount,
      ],
      ([onFirst, onSecond]) => onFirst === 0 && onSecond === 1,
      2000,
      20,
    );
    broker.channel.sendToQueue(second, Buffer.from('{"parcel":"moved"}'), { messageId: 'moved-1' });
    await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length === 1,
      10_000,
      100,
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

  it('describes itself for a form: its config schema and credential types', async () => {
    const provider = await t.http().get('/providers/amqp').set(admin).expect(200);
    expect(provider.body).toMatchObject({
      key: 'amqp',
      credentialTypes: ['basic', 'none'],
      configSchema: {
        type: 'object',
        required: ['url'],
        properties: {
          url: { type: 'string', pattern: '^amqps?://' },
          exchange: { type: 'string' },
          consume: { type: 'object', required: ['queue'], properties: { prefetch: { default: 50 } } },
          rateLimit: { type: 'object' },
        },
      },
    });
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
  it('retries a publish the broker nacks, and succeeds once the broker takes it', async () => {
    const exchange = await broker.exchange('nacking');
    // A queue that holds nothing and refuses what it cannot hold: RabbitMQ nacks what is routed to it.
    const full = await broker.queue('full', { maxLength: 0, overflow: 'reject-publish' });
    await broker.channel.bindQueue(full, exchange, '#');
    const { id } = await connect({});
    const jobId = await publishJob({
      connectionId: id,
      exchange,
      routingKey: 'parcel.sent',
      message: { n: 1 },
    });

    const failed = await waitFor(
      () => job(jobId),
      (found) => found.lastError !== null,
      10_000,
      50,
    );
    expect(failed.lastError).toMatchObject({ code: 'TEMPORARY', message: expect.stringContaining('nack') });
    expect(failed.status).not.toBe('succeeded');
    const sink = await broker.queue('after-nack');
    await broker.channel.bindQueue(sink, exchange, '#');
    await broker.channel.unbindQueue(full, exchange, '#');

    const done = await finished(jobId);
    expect(done.status).toBe('succeeded');
    // The first retry may have come before the queue was unbound: it was nacked again.
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    expect(done.result).toMatchObject({ exchange, routingKey: 'parcel.sent', messageId: expect.any(String) });
    // A retry sent while both queues were bound reached the sink and was nacked for the full
    // queue, so it was sent again: the sink may hold the message twice, under one messageId, by
    // which receivers deduplicate. It holds nothing else.
    const { messageId } = done.result as { messageId: string };
    const received: unknown[] = [];
    let got;
    while ((got = await broker.channel.get(sink, { noAck: true }))) {
      received.push({ body: JSON.parse(got.content.toString()), messageId: got.properties.messageId });
    }
    expect(received.length).toBeGreaterThanOrEqual(1);
    for (const message of received) expect(message).toEqual({ body: { n: 1 }, messageId });
  });

  it('fails a publish the broker returns unroutable TEMPORARY, and delivers it once a queue is bound', async () => {
    const exchange = await broker.exchange('unbound');
    const { id, name } = await connect({});
    const jobId = await publishJob({
      connectionId: id,
      exchange,
      routingKey: 'parcel.lost',
      message: { n: 1 },
    });

    const failed = await waitFor(
      () => job(jobId),
      (found) => found.lastError !== null || found.status === 'succeeded',
      10_000,
      50,
    );
    expect(failed.status).not.toBe('succeeded');
    expect(failed.lastError?.code).toBe('TEMPORARY');
    expect(failed.lastError?.message).toContain(`exchange "${exchange}"`);
    expect(failed.lastError?.message).toContain('routing key "parcel.lost"');
    expect(failed.logs.map((line) => line.message)).toContainEqual(
      expect.stringContaining('returned unroutable'),
    );

    const sink = await broker.queue('found-late');
    await broker.channel.bindQueue(sink, exchange, 'parcel.*');
    const done = await finished(jobId);
    expect(done.status).toBe('succeeded');
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    // A returned message reached no queue: the sink holds only the retry that was routed.
    const received: unknown[] = [];
    let got;
    while ((got = await broker.channel.get(sink, { noAck: true })))
      received.push(JSON.parse(got.content.toString()));
    expect(received).toEqual([{ n: 1 }]);
    const metrics = await t.http().get('/metrics').set(admin).expect(200);
    expect(metrics.text).toMatch(
      new RegExp(`junction_amqp_messages_published_total\\{connection="${name}",outcome="returned"\\} [1-9]`),
    );
  });

  it('lets a publish with mandatory false go unroutable, dropped by the broker, and refuses a mandatory that is no boolean', async () => {
    const exchange = await broker.exchange('fanout-nobody', 'fanout');
    const { id } = await connect({});
    const done = await finished(
      await publishJob({ connectionId: id, exchange, message: { n: 1 }, mandatory: false }),
    );
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, lastError: null });

    const refused = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'amqp.publish', payload: { connectionId: id, exchange, mandatory: 'no' } })
      .expect(400);
    expect(refused.body).toMatchObject({
      error: 'INVALID_PAYLOAD',
      details: [{ field: 'mandatory', problems: [expect.stringContaining('boolean')] }],
    });
  });

  it('tells the returned publishes of an event from its routed ones on the shared channel, with one return listener', async () => {
    const exchange = await broker.exchange('twins');
    const sink = await broker.queue('twins-routed');
    await broker.channel.bindQueue(sink, exchange, 'routed');
    const { id, name } = await connect({ exchange });
    const eventName = `bus${broker.suffix}.twin`;
    // Two routes per event: both jobs publish under the event's id, on one confirm channel.
    for (const routingKey of ['routed', 'unrouted']) {
      await t
        .http()
        .post('/routes')
        .set(admin)
        .send({
          name: `twins ${routingKey} ${broker.suffix}`,
          eventPattern: eventName,
          jobType: 'amqp.publish',
          payloadTemplate: { connectionId: id, routingKey },
        })
        .expect(201);
    }
    const posted = await t
      .http()
      .post('/events/batch')
      .set(admin)
      .send({
        events: Array.from({ length: 20 }, (_, i) => ({ name: eventName, source: 'twins', data: { i } })),
      })
      .expect(200);
    const jobIds = (posted.body.items as { jobIds: string[] }[]).flatMap((item) => item.jobIds);
    expect(jobIds).toHaveLength(40);
    type PublishJob = JobBody & { payload: { routingKey: string } };
    const settled = await waitFor(
      () => Promise.all(jobIds.map(async (jobId) => (await job(jobId)) as PublishJob)),
      (all) => all.every((found) => found.status === 'succeeded' || found.lastError !== null),
      20_000,
      200,
    );
    try {
      for (const found of settled) {
        if (found.payload.routingKey === 'routed')
          expect(found).toMatchObject({ status: 'succeeded', attempt: 1 });
        else {
          expect(found.status).not.toBe('succeeded');
          expect(found.lastError?.code).toBe('TEMPORARY');
        }
      }
      expect((await broker.channel.checkQueue(sink)).messageCount).toBe(20);
      const link = t.app
        .get(AmqpLinks)
        .linkFor(t.app.get(ConnectionsService).open((await t.app.get(ConnectionStore).find(id))!), name);
      expect((await link.confirmChannel()).listenerCount('return')).toBe(1);
    } finally {
      for (const found of settled.filter((each) => each.status !== 'succeeded'))
        await t.http().post(`/jobs/${found.id}/cancel`).set(admin);
    }
  });

  it('fails a publish TEMPORARY when the broker closes the shared channel under it, then NOT_FOUND, and publishes again after', async () => {
    const exchange = await broker.exchange('vanishing');
    const sink = await broker.queue('vanishing-sink');
    await broker.channel.bindQueue(sink, exchange, '#');
    const { id } = await connect({});
    const publish = (n: number, to = exchange) =>
      publishJob({ connectionId: id, exchange: to, routingKey: 'parcel', message: { n } }).then(finished);
    expect(await publish(1)).toMatchObject({ status: 'succeeded' });

    // The link has seen the exchange and does not check it again: the broker closes the channel
    // for the publish to the missing exchange, with the message unconfirmed.
    await broker.channel.deleteExchange(exchange);
    const closed = (await publish(2)) as JobBody & {
      attempts: { errorCode: string | null; errorMessage: string | null }[];
    };
    expect(closed).toMatchObject({ status: 'dead', attempt: 2, lastError: { code: 'NOT_FOUND' } });
    expect(closed.attempts[0]).toMatchObject({
      errorCode: 'TEMPORARY',
      errorMessage: expect.stringContaining('channel closed'),
    });

    const other = await broker.exchange('vanishing-after');
    await broker.channel.bindQueue(sink, other, '#');
    expect(await publish(3, other)).toMatchObject({ status: 'succeeded', attempt: 1 });
  });

  it('fails a publish to a missing exchange NOT_FOUND, and one for a paused connection PERMANENT', async () => {
    const { id } = await connect({});
    const missing = await finished(
      await publishJob({ connectionId: id, exchange: broker.name('missing'), message: { n: 1 } }),
    );
    expect(missing).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'NOT_FOUND' } });
    expect(missing.lastError?.message).toContain(broker.name('missing'));

    await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
    const paused = await finished(await publishJob({ connectionId: id, exchange: '', message: { n: 2 } }));
    expect(paused).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
    expect(paused.lastError?.message).toContain('paused');
  });

  it('refuses an amqp.publish whose connection is missing or not an amqp one, and stores no job', async () => {
    const http = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'http',
        name: `rest-${broker.suffix}`,
        config: { baseUrl: 'http://127.0.0.1:9' },
        credentials: { type: 'none' },
      })
      .expect(201);
    const refused = await t
      .http()
      .post('/jobs')
      .set(admin)
      .send({ type: 'amqp.publish', payload: { connectionId: http.body.id, exchange: '' } })
      .expect(422);
    expect(refused.body).toMatchObject({
      error: 'PAYLOAD_REFUSED',
      details: [
        {
          field: 'payload.connectionId',
          problems: [`connection rest-${broker.suffix} is a http connection, not an amqp one`],
        },
      ],
    });
  });

  it('comes back after its queue is deleted and declared again', async () => {
    const inbox = await broker.queue('redeclared');
    const { id, name } = await connect({ consume: { queue: inbox, eventName: 'parcel.lost' } });
    await consumerReaches(name, 'up', 10_000);

    await broker.channel.deleteQueue(inbox);
    await waitFor(
      () => consumerState(name),
      (state) => state?.status === 'down',
      5000,
      20,
    );
    await broker.channel.assertQueue(inbox, { durable: false });
    await consumerReaches(name, 'up', 15_000);

    broker.channel.sendToQueue(inbox, Buffer.from('{"parcel":"found"}'), { messageId: 'found-1' });
    await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length === 1,
      10_000,
      100,
    );
  }, 30_000);

  it('marks a consumer the broker refuses bad_authentication, announces it and stops consuming', async () => {
    const inbox = await broker.queue('refused');
    const created = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'amqp',
        name: `refused-${broker.suffix}`,
        config: { url: BROKER_URL, consume: { queue: inbox } },
        credentials: { type: 'basic', username, password: `${PASSWORD}-not` },
      })
      .expect(201);
    const id = created.body.id as string;
    const marked = await waitFor(
      async () => (await t.http().get(`/connections/${id}`).set(admin).expect(200)).body as { state: string },
      (connection) => connection.state === 'bad_authentication',
      10_000,
      100,
    );
    expect(marked).toMatchObject({ lastError: { code: 'AUTH' } });
    // Stopped once the change committed; the answer above may come a moment before that.
    await waitFor(
      () => consumerState(`refused-${broker.suffix}`),
      (state) => state === undefined,
      2000,
      20,
    );
    const problems = await t.http().get('/events?name=connection.problem').set(admin).expect(200);
    expect(
      (problems.body.items as { data: { connectionId: string } }[]).filter((e) => e.data.connectionId === id),
    ).toHaveLength(1);
  });

  /** Every message the dead-letter queue holds, by messageId, emptying it. */
  async function drained(dead: string): Promise<string[]> {
    const ids: string[] = [];
    let got;
    while ((got = await broker.channel.get(dead, { noAck: true })))
      ids.push(String(got.properties.messageId));
    return ids.sort();
  }

  it('stores a UTF-8 message that starts with a byte order mark, and dead-letters one that is not UTF-8', async () => {
    const { id, inbox, dead } = await consumedWithDeadLetters('bom');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"city":"Zürich"}')]);
    broker.channel.sendToQueue(inbox, bom, { messageId: 'with-bom' });
    // Latin-1, as a sender whose charset is not UTF-8 writes it: read as UTF-8, "ü" would become U+FFFD.
    broker.channel.sendToQueue(inbox, Buffer.from('{"city":"Zürich"}', 'latin1'), { messageId: 'latin-1' });

    const [event] = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length >= 1,
      10_000,
      100,
    );
    expect(event).toMatchObject({ idempotencyKey: 'with-bom', data: { city: 'Zürich' } });
    await waitFor(
      async () => (await broker.channel.checkQueue(dead)).messageCount,
      (count) => count >= 1,
      5000,
      100,
    );
    expect(await drained(dead)).toEqual(['latin-1']);
    expect(await eventsFrom(`connection:${id}`)).toHaveLength(1);
  });

  it('stores a gzip-encoded message as the JSON it holds, and dead-letters one in an encoding it cannot read', async () => {
    const { id, inbox, dead } = await consumedWithDeadLetters('gzip');
    broker.channel.sendToQueue(inbox, gzipSync('{"parcel":"zipped"}'), {
      messageId: 'zipped',
      contentType: 'application/json',
      contentEncoding: 'gzip',
    });
    broker.channel.sendToQueue(inbox, Buffer.from('{"parcel":"packed"}'), {
      messageId: 'packed',
      contentEncoding: 'x-unknown-packing',
    });

    const [event] = await waitFor(
      () => eventsFrom(`connection:${id}`),
      (events) => events.length >= 1,
      10_000,
      100,
    );
    expect(event).toMatchObject({ idempotencyKey: 'zipped', data: { parcel: 'zipped' } });
    await waitFor(
      async () => (await broker.channel.checkQueue(dead)).messageCount,
      (count) => count >= 1,
      5000,
      100,
    );
    expect(await drained(dead)).toEqual(['packed']);
  });

  it('refuses an exchange, queue or routing key longer than the 255 bytes AMQP allows: a connection at once, a publish PERMANENT', async () => {
    // 200 characters, 400 bytes: within a 255-character limit, over AMQP's 255-byte one.
    const long = 'é'.repeat(200);
    const refused = await t
      .http()
      .post('/connections')
      .set(admin)
      .send({
        provider: 'amqp',
        name: `long-${broker.suffix}`,
        config: { url: BROKER_URL, exchange: long, consume: { queue: long } },
        credentials: { type: 'none' },
      })
      .expect(422);
    expect(refused.body.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/config/exchange' }),
        expect.objectContaining({ path: '/config/consume/queue' }),
      ]),
    );

    const { id } = await connect({});
    for (const payload of [
      { connectionId: id, exchange: long, message: { n: 1 } },
      { connectionId: id, exchange: '', routingKey: long, message: { n: 1 } },
    ]) {
      const done = await finished(await publishJob(payload));
      expect(done).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
      expect(done.lastError?.message).toContain('255 bytes');
    }
  });

  it('reaches a virtual host whose name holds a percent sign, written percent-encoded in the URL', async () => {
    // "%41" in the name: decoded once more on the way, it would become "A", another vhost.
    const vhost = await broker.vhost('pct%41', username);
    const { id } = await connect({ url: `amqp://127.0.0.1:5672/${encodeURIComponent(vhost)}` });
    const tested = await t.http().post(`/connections/${id}/test`).set(admin).expect(200);
    expect(tested.body).toMatchObject({ ok: true });
  });

  it('fails a connection whose virtual host does not exist PERMANENT, not TEMPORARY: in its test and a publish', async () => {
    const { id } = await connect({ url: `amqp://127.0.0.1:5672/${broker.name('no-such-vhost')}` });
    const tested = await t.http().post(`/connections/${id}/test`).set(admin).expect(200);
    expect(tested.body).toMatchObject({ ok: false, code: 'PERMANENT' });
    expect(tested.body.message).toContain('virtual host');
    const done = await finished(await publishJob({ connectionId: id, exchange: '', message: { n: 1 } }));
    expect(done).toMatchObject({ status: 'dead', attempt: 1, lastError: { code: 'PERMANENT' } });
  });

  (onPostgres ? it : it.skip)(
    'starts and stops consumers in another worker process within seconds',
    async () => {
      const worker = await startTestApp({ database: t.database, env: { JUNCTION_ROLES: 'worker,api' } });
      try {
        const inbox = await broker.queue('elsewhere');
        const { id, name } = await connect({ consume: { queue: inbox, eventName: 'parcel.elsewhere' } });
        const stateThere = async () => {
          const body = (await worker.http().get('/health/ready')).body as {
            info?: Record<string, { status: string }>;
            error?: Record<string, { status: string }>;
          };
          return body.info?.[`amqp:${name}`] ?? body.error?.[`amqp:${name}`];
        };
        await waitFor(stateThere, (state) => state?.status === 'up', 10_000, 100);
        expect((await broker.channel.checkQueue(inbox)).consumerCount).toBe(2);
        await t.http().post(`/connections/${id}/pause`).set(admin).expect(200);
        await waitFor(stateThere, (state) => state === undefined, 10_000, 100);
        expect((await broker.channel.checkQueue(inbox)).consumerCount).toBe(0);
      } finally {
        await worker.close();
      }
    },
    30_000,
  );
  (mayRestartBroker ? it : it.skip)(
    'consumes and publishes again by itself after the broker restarts, losing nothing published meanwhile',
    async () => {
      const exchange = await broker.exchange('restart', 'topic', true);
      const inbox = await broker.queue('restart-in', { durable: true });
      await broker.channel.bindQueue(inbox, exchange, '#');
      const { id, name } = await connect({
        exchange,
        consume: { queue: inbox, eventName: 'parcel.restarted' },
      });
      await consumerReaches(name, 'up', 10_000);

      let jobId = '';
      await broker.restart(async () => {
        await waitFor(
          () => consumerState(name),
          (state) => state?.status === 'down',
          5000,
          20,
        );
        jobId = await publishJob({ connectionId: id, routingKey: 'parcel', message: { during: 'outage' } });
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect((await job(jobId)).status).not.toBe('succeeded');
      });

      await waitFor(
        () => consumerState(name),
        (state) => state?.status === 'up',
        60_000,
        200,
      );
      // Its retries wait out their backoff; the link's own waits spend no attempt.
      await waitFor(
        () => job(jobId),
        (found) => found.status === 'succeeded',
        60_000,
        200,
      );
      const [event] = await waitFor(
        () => eventsFrom(`connection:${id}`),
        (events) => events.length === 1,
        20_000,
        200,
      );
      expect(event).toMatchObject({ name: 'parcel.restarted', data: { during: 'outage' } });
    },
    120_000,
  );
});
