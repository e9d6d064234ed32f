import * as dns from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';

/** An IPv4 address in the NAT64 well-known prefix (RFC 6052), `64:ff9b::a.b.c.d`. */
function nat64(ipv4: string): string {
  const [a, b, c, d] = ipv4.split('.').map(Number);
  return `64:ff9b::${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Loopback, private, link-local (the cloud metadata services among them), unspecified and multicast
 * ranges; each IPv4 one also as NAT64 writes it (64:ff9b::/96), as a NAT64 gateway reaches it.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
  PRIVATE.addSubnet(nat64(network), 96 + prefix, 'ipv6');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  // NAT64 for local use (RFC 8215): what it reaches is the network's own choice.
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Whether an IP address is one a delivery must not reach (fd00:ec2::254 and 169.254.169.254 included). */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = MAPPED_IPV4.exec(bare);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  const family = isIP(bare);
  if (family === 0) return false;
  return PRIVATE.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** A delivery refused because its host is, or resolves to, a private address. */
export class AddressRefused extends Error {
  readonly code = 'ADDRESS_REFUSED';

  constructor(host: string, address: string) {
    super(
      host === address
        ? `${address} is a private, loopback or link-local address; deliveries there are refused (JUNCTION_WEBHOOK_ALLOW_PRIVATE)`
        : `${host} resolves to ${address}, a private, loopback or link-local address; deliveries there are refused (JUNCTION_WEBHOOK_ALLOW_PRIVATE)`,
    );
    this.name = 'AddressRefused';
  }
}

/** The AddressRefused an HTTP failure was caused by, however deeply wrapped. */
export function addressRefusalIn(error: unknown, depth = 0): AddressRefused | null {
  if (error instanceof AddressRefused) return error;
  if (typeof error !== 'object' || error === null || depth > 4) return null;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  for (const inner of [cause, ...(Array.isArray(errors) ? (errors as unknown[]) : [])]) {
    const found = addressRefusalIn(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * Name resolution through `resolve` (the system's by default) that leaves private addresses out,
 * so a connection is never even opened to one; a name with nothing else fails with AddressRefused.
 */
export function publicOnlyLookup(resolve: LookupFunction = dns.lookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, found) => {
      if (error) return callback(error, '', 0);
      const addresses = found as unknown as dns.LookupAddress[];
      const usable = addresses.filter((entry) => !isPrivateAddress(entry.address));
      if (usable.length === 0) {
        return callback(new AddressRefused(hostname, addresses[0]?.address ?? hostname), '', 0);
      }
      if (options.all) return callback(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

/**
 * An undici agent that connects only to public addresses. Names resolve through
 * `publicOnlyLookup` (over `resolve`, for tests), addresses written in the URL are checked as they are, and the address the
 * socket actually connected to is checked again before a byte of the request is sent, so neither
 * a name resolving to 127.0.0.1 nor a changed DNS answer gets through.
 */
export function publicOnlyAgent(resolve?: LookupFunction): Agent {
  const connector = buildConnector({ lookup: publicOnlyLookup(resolve) });
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && isPrivateAddress(host)) {
        callback(new AddressRefused(host, host), null);
        return;
      }
      connector(options, (...result) => {
        const [error, socket] = result;
        if (error) return callback(error, null);
        const remote = socket.remoteAddress;
        if (remote === undefined || isPrivateAddress(remote)) {
          socket.destroy();
          return callback(new AddressRefused(host, remote ?? 'an unknown address'), null);
        }
        callback(null, socket);
      });
    },
  });
}
