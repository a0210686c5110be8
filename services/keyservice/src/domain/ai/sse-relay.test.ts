import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { MAX_HELD_BYTES, relaySse, TurnCoalescer } from './sse-relay.js';
import { StreamKeyScrubber } from './stream-key-scrubber.js';

/** The key every relay here scrubs (the relayed events do not hold it unless a test says so). */
const KEY = 'sk-proj-RelayTestKey0123456789abcdef';
const scrubber = () => new StreamKeyScrubber(KEY);

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

/** A caller's side that takes everything and records each write it was given. */
function recordingCaller() {
  const writes: Buffer[] = [];
  const res = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk);
      cb();
    },
  });
  return { res, writes };
}

const events = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => Buffer.from(`data: {"n":${from + i},"text":"é✓"}\n\n`));

describe('relaySse', () => {
  it('pauses upstream while the caller is full (nothing piles up in memory), resumes on drain, ends both', async () => {
    const upstream = new PassThrough({ highWaterMark: 1024 });
    const caller = slowCaller(4096);
    const seen: number[] = [];
    const done = relaySse(upstream, caller.res, (c) => seen.push(c.length), scrubber());
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
    const done = relaySse(upstream, caller.res, () => undefined, scrubber());
    upstream.write('data: 1\n\n');
    await tick();
    caller.res.destroy();
    await expect(done).resolves.toBe('client-disconnected');
    expect(upstream.destroyed).toBe(true);
  });

  it('writes the first chunk at once, then the chunks of each turn as one write, byte for byte and in order', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const observed: Buffer[] = [];
    const done = relaySse(upstream, caller.res, (c) => observed.push(c), scrubber());
    const [first, ...rest] = events(0, 5);
    upstream.write(first);
    await new Promise((r) => process.nextTick(r));
    // The first event does not wait for the turn to end.
    expect(caller.writes).toEqual([first]);
    for (const e of rest) upstream.write(e);
    await tick();
    expect(caller.writes).toEqual([first, Buffer.concat(rest)]);
    // A later turn: its chunks together again, the last ones flushed by the end of the stream.
    const later = events(5, 4);
    for (const e of later) upstream.write(e);
    await tick();
    const last = events(9, 3);
    for (const e of last.slice(0, -1)) upstream.write(e);
    upstream.end(last.at(-1));
    await expect(done).resolves.toBeUndefined();
    expect(caller.writes).toEqual([first, Buffer.concat(rest), Buffer.concat(later), Buffer.concat(last)]);
    expect(Buffer.concat(caller.writes)).toEqual(Buffer.concat(events(0, 12)));
    expect(observed).toEqual(caller.writes);
    expect(caller.res.writableFinished).toBe(true);
  });

  it('pauses upstream when a burst within one turn fills the caller, and relays it all once drained', async () => {
    const upstream = new PassThrough({ highWaterMark: 1024 });
    const caller = slowCaller(4096);
    const done = relaySse(upstream, caller.res, () => undefined, scrubber());
    const event = Buffer.from(`data: ${'x'.repeat(500)}\n\n`);
    // Upstream writes as a provider does: all it may in one go, then waits for 'drain'.
    let written = 0;
    const writer = (async () => {
      while (written < 400 * event.length) {
        written += event.length;
        if (!upstream.write(event)) await new Promise((r) => upstream.once('drain', r));
      }
    })();
    for (let turn = 0; turn < 20; turn++) await tick();
    expect(upstream.isPaused()).toBe(true);
    // Bounded: what one turn may hold (about one socket read from a real upstream) plus a few buffers.
    expect(written).toBeLessThan(MAX_HELD_BYTES + 16 * 1024);
    caller.drain();
    await writer;
    upstream.end();
    await expect(done).resolves.toBeUndefined();
    expect(caller.taken()).toBe(400 * event.length);
  });

  it('drops what a turn still holds and destroys upstream when the caller goes away mid-turn', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const observed: Buffer[] = [];
    const done = relaySse(upstream, caller.res, (c) => observed.push(c), scrubber());
    const [first, second] = events(0, 2);
    upstream.write(first);
    upstream.write(second);
    await new Promise((r) => process.nextTick(r));
    caller.res.destroy();
    await expect(done).resolves.toBe('client-disconnected');
    await tick();
    expect(upstream.destroyed).toBe(true);
    // Nothing is written (nor shown to metering) after the close.
    expect(caller.writes).toEqual([first]);
    expect(observed).toEqual([first]);
  });

  it('ends the caller with an error (not a clean end) when upstream breaks off', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const done = relaySse(upstream, caller.res, () => undefined, scrubber());
    upstream.write(events(0, 1)[0]);
    await tick();
    upstream.destroy(new Error('socket hang up'));
    await expect(done).resolves.toBe('upstream-broke-off');
    expect(caller.res.destroyed).toBe(true);
    expect(caller.res.writableFinished).toBe(false);
  });
});

describe('relaySse through the key scrubber', () => {
  it('never writes (or shows metering) a key split across chunks of two turns; the event before it goes out at once', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const observed: Buffer[] = [];
    const done = relaySse(upstream, caller.res, (c) => observed.push(c), scrubber());
    upstream.write(`data: {"n":0}\n\ndata: {"echo":"${KEY.slice(0, 15)}`);
    await new Promise((r) => process.nextTick(r));
    // The first chunk at once, all of it but the end that may be the start of the key.
    expect(caller.writes.map(String)).toEqual(['data: {"n":0}\n\ndata: {"echo":"']);
    await tick();
    upstream.write(`${KEY.slice(15)}"}\n\n`);
    await tick();
    upstream.end('data: [DONE]\n\n');
    await expect(done).resolves.toBeUndefined();
    const all = Buffer.concat(caller.writes).toString();
    expect(all).toBe('data: {"n":0}\n\ndata: {"echo":"[redacted]"}\n\ndata: [DONE]\n\n');
    expect(Buffer.concat(observed).toString()).toBe(all);
  });

  it('writes a held prefix that never became the key at the end of the stream, unchanged', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const done = relaySse(upstream, caller.res, () => undefined, scrubber());
    upstream.write('data: 1\n\n');
    await tick();
    upstream.end(`data: ${KEY.slice(0, 9)}`);
    await expect(done).resolves.toBeUndefined();
    expect(Buffer.concat(caller.writes).toString()).toBe(`data: 1\n\ndata: ${KEY.slice(0, 9)}`);
    expect(caller.res.writableFinished).toBe(true);
  });

  it('drops a held prefix when the caller goes away', async () => {
    const upstream = new PassThrough();
    const caller = recordingCaller();
    const done = relaySse(upstream, caller.res, () => undefined, scrubber());
    upstream.write(`data: ${KEY.slice(0, 9)}`);
    await tick();
    caller.res.destroy();
    await expect(done).resolves.toBe('client-disconnected');
    upstream.end(`${KEY.slice(9)}\n\n`);
    await tick();
    expect(Buffer.concat(caller.writes).toString()).toBe('data: ');
  });
});

describe('TurnCoalescer', () => {
  it('writes the first chunk at once, the rest of a turn at its end, and at once when MAX_HELD_BYTES are held', async () => {
    const writes: string[] = [];
    const out = new TurnCoalescer((c) => writes.push(c.toString()));
    out.push(Buffer.from('a'));
    expect(writes).toEqual(['a']);
    out.push(Buffer.from('b'));
    out.push(Buffer.from('c'));
    expect(writes).toEqual(['a']);
    await tick();
    expect(writes).toEqual(['a', 'bc']);
    const half = 'x'.repeat(MAX_HELD_BYTES / 2);
    out.push(Buffer.from(half));
    expect(writes).toHaveLength(2);
    out.push(Buffer.from(half));
    // The cap is reached: written without waiting for the turn to end.
    expect(writes).toEqual(['a', 'bc', half + half]);
    out.push(Buffer.from('d'));
    out.drop();
    await tick();
    expect(writes).toHaveLength(3);
  });
});
