import { describe, expect, it } from '@jest/globals';
import { SettleQueue } from './settle-queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('SettleQueue', () => {
  it('settles pushed within the linger go in one batch, in order; each push resolves after its batch', async () => {
    const batches: number[][] = [];
    const q = new SettleQueue<number>({
      write: async (items) => {
        batches.push(items);
      },
      maxBatch: 100,
      lingerMs: 20,
    });
    const pushed = [1, 2, 3].map((n) => q.push(n));
    expect(batches).toEqual([]);
    await Promise.all(pushed);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('a full queue is written at once, in batches of at most maxBatch; one batch in flight at a time', async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const q = new SettleQueue<number>({
      write: async (items) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        batches.push(items);
        await tick(5);
        inFlight -= 1;
      },
      maxBatch: 3,
      lingerMs: 60_000,
    });
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => q.push(n)).slice(0, 6));
    expect(batches.slice(0, 2)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(most).toBe(1);
    await q.close();
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('a failed batch rejects each of its pushes; a retryable failure is written once more', async () => {
    let calls = 0;
    const q = new SettleQueue<number>({
      write: async () => {
        calls += 1;
        throw Object.assign(new Error('deadlock detected'), { code: calls === 1 ? '40P01' : 'XX000' });
      },
      maxBatch: 10,
      lingerMs: 1,
      retryable: (err) => (err as { code?: string }).code === '40P01',
    });
    await expect(Promise.all([q.push(1), q.push(2)])).rejects.toThrow('deadlock detected');
    expect(calls).toBe(2);
  });

  it('close writes what is queued, without waiting for the linger, and refuses more', async () => {
    const written: number[] = [];
    const q = new SettleQueue<number>({
      write: async (items) => {
        written.push(...items);
      },
      maxBatch: 10,
      lingerMs: 60_000,
    });
    const p = q.push(1);
    await q.close();
    await p;
    expect(written).toEqual([1]);
    await expect(q.push(2)).rejects.toThrow('closed');
  });
});
