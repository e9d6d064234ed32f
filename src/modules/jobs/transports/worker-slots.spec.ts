import { WorkerSlots } from './worker-slots.js';

describe('WorkerSlots', () => {
  it('hands a released slot to the longest waiter, never exceeding its size', async () => {
    const slots = new WorkerSlots(2);
    expect(slots.take(5)).toBe(2);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => slots.acquire().then(() => order.push(n)));
    slots.release();
    slots.release();
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    expect(slots.free).toBe(0);
    slots.release(2);
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    expect(slots.free).toBe(1);
  });
});
