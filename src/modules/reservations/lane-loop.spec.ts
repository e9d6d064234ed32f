import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { LaneLoop } from './lane-loop.js';
import type { LaneWork, LeaderLock } from './lane-loop.js';

/** A reserver that notes when the loop looks for work, and has `batches` batches of work left. */
function fakeReserver(batches = 0): LaneWork & { polls: number[]; served: number[]; batches: number } {
  const fake = {
    batches,
    polls: [] as number[],
    served: [] as number[],
    hasWork: () => {
      fake.polls.push(Date.now());
      return Promise.resolve(fake.batches > 0);
    },
    reserveBatch: () => {
      fake.served.push(Date.now());
      fake.batches--;
      return Promise.resolve({ examined: 5 });
    },
  };
  return fake;
}

const held: LeaderLock = { acquire: () => Promise.resolve(true), release: () => Promise.resolve() };
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

describe('LaneLoop', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('backs off when idle, doubling from 10 ms to at most one second', async () => {
    const reserver = fakeReserver();
    const loop = new LaneLoop('main', reserver, held, new Logger('test'));
    loop.start();
    await jest.advanceTimersByTimeAsync(4500);
    expect(gaps(reserver.polls).slice(0, 10)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    const stopped = loop.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
  });

  it('looks at once when woken, and serves batches back to back while there is work', async () => {
    const reserver = fakeReserver();
    const loop = new LaneLoop('main', reserver, held, new Logger('test'));
    loop.start();
    await jest.advanceTimersByTimeAsync(2500);
    // Asleep until 3270 (the 2270 poll found nothing); a request arrives at 2500.
    expect(reserver.polls.at(-1)).toBe(2270);
    reserver.batches = 3;
    loop.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(reserver.polls.at(-1)).toBe(2500);
    expect(reserver.served).toEqual([2500, 2500, 2500]);
    // Work done, it backs off from 10 ms again.
    await jest.advanceTimersByTimeAsync(30);
    expect(reserver.polls.slice(-3)).toEqual([2500, 2510, 2530]);
    const stopped = loop.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
  });

  it('does not serve a lane whose lock another process holds, and tries for it every second', async () => {
    const attempts: number[] = [];
    const taken: LeaderLock = {
      acquire: () => {
        attempts.push(Date.now());
        return Promise.resolve(false);
      },
      release: () => Promise.resolve(),
    };
    const reserver = fakeReserver(3);
    const loop = new LaneLoop('main', reserver, taken, new Logger('test'));
    loop.start();
    await jest.advanceTimersByTimeAsync(3500);
    expect(attempts).toEqual([0, 1000, 2000, 3000]);
    expect(reserver.polls).toEqual([]);
    expect(loop.leading).toBe(false);
    const stopped = loop.stop();
    await jest.advanceTimersByTimeAsync(0);
    await stopped;
  });
});
