import { BROKER_URL, TestBroker } from './support/rabbit.js';
import { ADMIN_KEY, bearer } from './support/test-app.js';
import { startJunctionProcess } from './support/junction-process.js';
import type { JunctionProcess } from './support/junction-process.js';
import { TestDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const admin = bearer(ADMIN_KEY);
const PASSWORD = 'amqp-log-password-9a8b7c6dEFGH';

/**
 * A real Junction process logging at trace level, used for everything an amqp connection goes
 * through (created, tested with right and wrong credentials, publishing, consuming, refused, its
 * connection closed by the broker): no captured line holds the broker password.
 */
describe('amqp secrets in logs', () => {
  let database: TestDatabase;
  let broker: TestBroker;
  let junction: JunctionProcess;
  const api = () => junction.api();

  beforeAll(async () => {
    database = await TestDatabase.create();
    broker = await TestBroker.open();
    junction = await startJunctionProcess(
      database.env({ JUNCTION_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace' }),
    );
  });
  afterAll(async () => {
    await junction.stop();
    await broker.close();
    await database.drop();
  });

  it('writes the broker password into no log line', async () => {
    const username = await broker.user(PASSWORD);
    const exchange = await broker.exchange('logged');
    const inbox = await broker.queue('logged-in');
    await broker.channel.bindQueue(inbox, exchange, '#');
    const connect = async (name: string, password: string) =>
      (
        await api()
          .post('/connections')
          .set(admin)
          .send({
            provider: 'amqp',
            name,
            config: { url: BROKER_URL, exchange, consume: { queue: inbox, eventName: 'parcel.logged' } },
            credentials: { type: 'basic', username, password },
          })
          .expect(201)
      ).body.id as string;
    const good = await connect('good', PASSWORD);
    const wrong = await connect('wrong', `${PASSWORD}-not`);
    for (const id of [good, wrong]) await api().post(`/connections/${id}/test`).set(admin).expect(200);

    // Published to the exchange, routed to the queue, consumed back into an event.
    const job = await api()
      .post('/jobs')
      .set(admin)
      .send({ type: 'amqp.publish', payload: { connectionId: good, routingKey: 'x', message: { n: 1 } } })
      .expect(201);
    await waitFor(
      async () =>
        (
          await api()
            .get(`/jobs/${job.body.id as string}`)
            .set(admin)
            .expect(200)
        ).body as { status: string },
      (found) => found.status === 'succeeded',
      20_000,
    );
    await waitFor(
      async () =>
        (await api().get(`/events?source=connection:${good}`).set(admin).expect(200)).body as {
          items: unknown[];
        },
      (page) => page.items.length === 1,
      20_000,
    );
    await broker.closeConnections(good);
    await waitFor(
      async () => (await api().get(`/connections/${wrong}`).set(admin).expect(200)).body as { state: string },
      (connection) => connection.state === 'bad_authentication',
      20_000,
    );
    await junction.stop();

    expect(junction.output().length).toBeGreaterThan(1000);
    expect(junction.output()).toContain('"/connections"');
    expect(junction.output()).toContain('was lost; reconnecting');
    const plain = Buffer.from(`\u0000${username}\u0000${PASSWORD}`).toString('base64');
    for (const secret of [PASSWORD, plain]) expect(junction.output()).not.toContain(secret);
  }, 60_000);
});
