import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { relaySse } from './sse-relay.js';

/** A caller's side that accepts `room` bytes, then stops reading until `drain()`. */
function slowCaller(room: number) {
  let pending: (() => void)[] = [];
  let taken = 0;
  const res = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      taken += chunk.length;
      if (taken <= room) cb();
      else pending.push(cb);
    },
  });
  return {
    res,
    taken: () => taken,
    drain() {
      room = Infinity;
      const p = pending;
      pending = [];
      p.forEach((cb) => cb());
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('relaySse', () => {
  it('pauses upstream while the caller is full (nothing piles up in memory), resumes on drain, ends both', async () => {
    const upstream = new PassThrough({ highWaterMark: 1024 });
    const caller = slowCaller(4096);
    const seen: number[] = [];
    const done = relaySse(upstream, caller.res, (c) => seen.push(c.length));
    const event = Buffer.from(`data: ${'x'.repeat(500)}\n\n`);
    let written = 0;
    // Upstream writes for as long as the relay lets it (its own write() says when to stop).
    for (let i = 0; i < 1000 && upstream.write(event); i++) {
      written += event.length;
      await tick();
    }
    await tick();
    expect(upstream.isPaused()).toBe(true);
    // Bounded: the caller's room plus a few buffers, never the whole 500 KB upstream could send.
    expect(written).toBeLessThan(16 * 1024);
    expect(caller.res.writableLength).toBeLessThan(4 * 1024);
    caller.drain();
    await tick();
    expect(upstream.isPaused()).toBe(false);
    upstream.end(event);
    await expect(done).resolves.toBeUndefined();
    expect(caller.res.writableFinished).toBe(true);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(caller.taken());
  });

  it('destroys upstream when the caller goes away mid-stream', async () => {
    const upstream = new PassThrough();
    const caller = slowCaller(Infinity);
    const done = relaySse(upstream, caller.res, () => undefined);
    upstream.write('data: 1\n\n');
    await tick();
    caller.res.destroy();
    await expect(done).resolves.toBe('client-disconnected');
    expect(upstream.destroyed).toBe(true);
  });
});
