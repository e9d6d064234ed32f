import { randomFillSync, randomInt } from 'node:crypto';

const MAX_SEQUENCE = 0xfff;
let lastMs = -1;
let sequence = 0;

/** Random bytes are drawn 4 KB at a time: one call into the CSPRNG per 256 ids, not one per id. */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random16(): Buffer {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return bytes;
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit sequence, then random bits.
 * Within one process every id sorts after the one made before it (the sequence counts up inside a
 * millisecond, RFC 9562 method 1), so lists ordered by id follow creation order. A time earlier
 * than the last id's is raised to it.
 */
export function newId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // Start low in the range so a busy millisecond has room to count up.
    sequence = randomInt(0, MAX_SEQUENCE >> 2);
  } else if (++sequence > MAX_SEQUENCE) {
    lastMs++;
    sequence = 0;
  }
  const bytes = random16();
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
