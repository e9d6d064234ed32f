import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';

const run = promisify(execFile);

/** The RabbitMQ that runs beside the tests (127.0.0.1:5672, guest/guest). */
export const BROKER_URL = 'amqp://127.0.0.1:5672/%2F';

/**
 * The test's own side of the broker: a connection and a channel to declare, publish and read
 * with, and names with a suffix of this run's own, so parallel runs never share a queue. Every
 * exchange, queue and user made through it is deleted by `close`.
 */
export class TestBroker {
  readonly suffix = randomBytes(4).toString('hex');
  private readonly exchanges: string[] = [];
  private readonly queues: string[] = [];
  private readonly users: string[] = [];
  private readonly vhosts: string[] = [];

  private constructor(
    private model: ChannelModel,
    public channel: Channel,
  ) {}

  static async open(): Promise<TestBroker> {
    const model = await amqp.connect(BROKER_URL);
    return new TestBroker(model, await model.createChannel());
  }

  name(kind: string): string {
    return `junction-test.${kind}.${this.suffix}`;
  }

  async exchange(kind: string, type: 'topic' | 'fanout' = 'topic', durable = false): Promise<string> {
    const name = this.name(kind);
    await this.channel.assertExchange(name, type, { durable });
    this.exchanges.push(name);
    return name;
  }

  async queue(kind: string, options: amqp.Options.AssertQueue = {}): Promise<string> {
    const name = this.name(kind);
    await this.channel.assertQueue(name, { durable: false, ...options });
    this.queues.push(name);
    return name;
  }

  /** A broker user of the run's own with a password no other test uses, allowed everything on `/`. */
  async user(password: string): Promise<string> {
    const name = `junction-test-${this.suffix}`;
    await rabbitmqctl('add_user', name, password);
    this.users.push(name);
    await rabbitmqctl('set_permissions', '-p', '/', name, '.*', '.*', '.*');
    return name;
  }

  /** A virtual host of the run's own, named `junction-test.<kind>.<suffix>`, that `user` may use entirely. */
  async vhost(kind: string, user: string): Promise<string> {
    const name = this.name(kind);
    await rabbitmqctl('add_vhost', name);
    this.vhosts.push(name);
    await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
    return name;
  }

  /** Closes, from the broker's side, every connection whose client name contains `marker`. */
  async closeConnections(marker: string): Promise<number> {
    // One line a connection: its pid (in the form close_connection takes), a tab, its client properties.
    const { stdout } = await rabbitmqctl(
      'list_connections',
      '--no-table-headers',
      'pid',
      'client_properties',
    );
    const mine = stdout.split('\n').filter((line) => line.includes(marker));
    for (const line of mine) await rabbitmqctl('close_connection', line.split('\t')[0], 'closed by the test');
    return mine.length;
  }

  /**
   * Stops and starts the broker's application (every connection drops; non-durable queues and
   * exchanges go), then opens the test's own connection again. The broker is shared by the
   * machine: only tests that ask for it (AMQP_RESTART_TEST=1) do this.
   */
  async restart(whileDown: () => Promise<void>): Promise<void> {
    await rabbitmqctl('stop_app');
    try {
      await whileDown();
    } finally {
      await rabbitmqctl('start_app');
    }
    this.model = await amqp.connect(BROKER_URL);
    this.channel = await this.model.createChannel();
  }

  async close(): Promise<void> {
    for (const queue of this.queues) await this.channel.deleteQueue(queue).catch(() => undefined);
    for (const exchange of this.exchanges) await this.channel.deleteExchange(exchange).catch(() => undefined);
    for (const vhost of this.vhosts) await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    for (const user of this.users) await rabbitmqctl('delete_user', user).catch(() => undefined);
    await this.model.close();
  }
}

function rabbitmqctl(...args: string[]): Promise<{ stdout: string }> {
  return run('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
}
