import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

/** An echo server: what the proxy forwards comes back. */
async function startEcho(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A client connection with everything it received and how it ended. */
interface Probe {
  socket: net.Socket;
  received: () => Buffer;
  /** 'connected' once open; then 'end' (FIN), 'reset' (ECONNRESET), 'refused' or another error code. */
  outcome: Promise<string>;
  connected: Promise<boolean>;
}

function connect(port: number): Probe {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const connected = new Promise<boolean>((r) => {
    socket.once('connect', () => r(true));
    socket.once('error', () => r(false));
  });
  const outcome = new Promise<string>((r) => {
    socket.once('error', (e: NodeJS.ErrnoException) =>
      r(e.code === 'ECONNRESET' ? 'reset' : e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)),
    );
    socket.once('end', () => r('end'));
  });
  return { socket, received: () => Buffer.concat(chunks), outcome, connected };
}

const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('fault proxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: FaultProxy;
  const probes: Probe[] = [];
  const open = (): Probe => {
    const p = connect(proxy.port);
    probes.push(p);
    return p;
  };

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: echo.port } });
  });
  afterEach(async () => {
    for (const p of probes.splice(0)) p.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  it('passes bytes both ways unchanged', async () => {
    const p = open();
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    p.socket.write(payload);
    await until(() => p.received().length === payload.length);
    expect(p.received().equals(payload)).toBe(true);
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1, forwarded: 1 });
  });

  it('latency delays each chunk by at least the set time, in order', async () => {
    await proxy.set({ kind: 'latency', ms: 150 });
    const p = open();
    await p.connected;
    const t0 = Date.now();
    p.socket.write('a');
    p.socket.write('b');
    await until(() => p.received().length === 2);
    // Both directions are delayed: the round trip takes at least two delays (lower bound only).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * 150 - 10);
    expect(p.received().toString()).toBe('ab');
  });

  it('bandwidth caps the throughput', async () => {
    await proxy.set({ kind: 'bandwidth', bytesPerSecond: 20_000 });
    const p = open();
    await p.connected;
    const t0 = Date.now();
    p.socket.write(Buffer.alloc(10_000, 1));
    await until(() => p.received().length === 10_000, 5000);
    // 10 kB at 20 kB/s takes at least 0.5 s (the two directions overlap; lower bound only).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500 - 50);
  });

  it('drop closes open connections and refuses new ones until the mode changes, on the same port', async () => {
    const before = open();
    await before.connected;
    await proxy.set({ kind: 'drop' });
    expect(await before.outcome).toBe('end');
    const refused = open();
    expect(await refused.outcome).toBe('refused');
    await proxy.set({ kind: 'pass' });
    const after = open();
    after.socket.write('back');
    await until(() => after.received().toString() === 'back');
  });

  it('reset sends RST on open connections and on new ones', async () => {
    const before = open();
    await until(() => proxy.stats().forwarded === 1);
    await proxy.set({ kind: 'reset' });
    expect(await before.outcome).toBe('reset');
    const next = open();
    expect(await next.outcome).toBe('reset');
    expect(proxy.stats().forwarded).toBe(1);
  });

  it('blackhole accepts but forwards nothing, then lets the held bytes through when healed', async () => {
    const held = open();
    await held.connected;
    await proxy.set({ kind: 'blackhole' });
    held.socket.write('held');
    const fresh = open();
    expect(await fresh.connected).toBe(true);
    fresh.socket.write('fresh');
    await new Promise((r) => setTimeout(r, 300));
    expect(held.received().length).toBe(0);
    expect(fresh.received().length).toBe(0);
    // The fresh connection never reached the target while blackholed.
    expect(proxy.stats().forwarded).toBe(1);
    await proxy.set({ kind: 'pass' });
    await until(() => held.received().toString() === 'held' && fresh.received().toString() === 'fresh');
  });

  it('respond answers HTTP requests itself and forwards nothing', async () => {
    await proxy.set({
      kind: 'respond',
      status: 503,
      body: '{"x":1}',
      headers: { 'retry-after': '2' },
    });
    const res = await fetch(`http://127.0.0.1:${proxy.port}/anything`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.text()).toBe('{"x":1}');
    expect(proxy.stats()).toMatchObject({ responded: 1, forwarded: 0 });
  });
});
