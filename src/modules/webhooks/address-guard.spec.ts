import Fastify from 'fastify';
import type { LookupFunction } from 'node:net';
import { addressRefusalIn, isPrivateAddress, publicOnlyAgent } from './address-guard.js';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fd00:ec2::254',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '198.18.0.1',
    'fc00::1',
    '[::1]',
  ])('refuses %s', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  // A NAT64 gateway (AWS's and Google Cloud's among them) turns these into the IPv4 address they carry.
  it.each([
    '64:ff9b::7f00:1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::10.0.0.1',
    '64:ff9b::c0a8:101',
    '64:ff9b:1::a00:1',
  ])('refuses %s, a private IPv4 address through NAT64', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '172.32.0.1',
    '93.184.216.34',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('lets %s through', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

describe('publicOnlyAgent', () => {
  const server = Fastify();
  let port = 0;

  beforeAll(async () => {
    server.get('/', () => 'reached');
    await server.listen({ host: '127.0.0.1', port: 0 });
    port = (server.server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  /** A resolver that answers 127.0.0.1 for every name, as a hostile DNS server would. */
  const hostileDns: LookupFunction = (_hostname, options, callback) =>
    options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4);

  it('refuses an address written in the URL before connecting', async () => {
    const agent = publicOnlyAgent();
    const error = await agent
      .request({ origin: `http://127.0.0.1:${port}`, path: '/', method: 'GET' })
      .catch((e: unknown) => e);
    await agent.close();

    expect(addressRefusalIn(error)?.message).toMatch(/127\.0\.0\.1 is a private/);
  });

  it('refuses a name that resolves to a loopback address', async () => {
    const agent = publicOnlyAgent(hostileDns);
    const error = await agent
      .request({ origin: `http://partner.example.test:${port}`, path: '/', method: 'GET' })
      .catch((e: unknown) => e);
    await agent.close();

    expect(addressRefusalIn(error)?.message).toMatch(/partner\.example\.test resolves to 127\.0\.0\.1/);
  });

  it('refuses localhost through the system resolver', async () => {
    const agent = publicOnlyAgent();
    const error = await agent
      .request({ origin: `http://localhost:${port}`, path: '/', method: 'GET' })
      .catch((e: unknown) => e);
    await agent.close();

    expect(addressRefusalIn(error)).not.toBeNull();
  });
});
