import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What the proxy does to traffic, switchable at runtime with {@link FaultProxy.set}.
 * - `pass`: forwards both ways.
 * - `latency`: forwards each chunk after `ms` (order kept), both ways.
 * - `bandwidth`: forwards at most `bytesPerSecond` each way per connection.
 * - `drop`: closes every open connection (FIN) and refuses new ones (the listener closes, so a
 *   client gets ECONNREFUSED): a server that went down. Leaving `drop` listens again on the same port.
 * - `reset`: sends RST on every open connection and on every new one.
 * - `blackhole`: accepts, forwards nothing either way; traffic waits (as TCP retransmits would)
 *   and flows again when the mode changes: a network partition.
 * - `respond`: answers every HTTP request on a new connection with `status` (and `body`,
 *   `headers`) and closes it, forwarding nothing; open connections are closed. For upstream 5xx or
 *   throttling answers from a load balancer in front of an HTTP service.
 */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number }
  | { kind: 'bandwidth'; bytesPerSecond: number }
  | { kind: 'drop' }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'respond'; status: number; body?: string; headers?: Record<string, string> };

/** Counters of what the proxy saw. */
export interface FaultProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections currently open on the client side. */
  open: number;
  /** Connections forwarded to the target since start. */
  forwarded: number;
  /** HTTP requests answered by the `respond` mode. */
  responded: number;
}

/** A running proxy. */
export interface FaultProxy {
  host: string;
  port: number;
  /** The current mode. */
  mode(): FaultMode;
  /** Switches the mode; resolves once open connections were dealt with and the listener is in the right state. */
  set(mode: FaultMode): Promise<void>;
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

/** Options for {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Where traffic goes. */
  target: { host: string; port: number };
  /** Port to listen on (default 0: the OS picks one; kept across `drop`). */
  port?: number;
  mode?: FaultMode;
}

/** A promise with its resolver (Node 20 has no Promise.withResolvers). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

/** Starts a TCP fault-injection proxy on 127.0.0.1 in front of `target`. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  let mode: FaultMode = opts.mode ?? { kind: 'pass' };
  // Resolved (and replaced) at every mode change: blackholed traffic waits on it.
  let changed = signal();
  const conns = new Set<Conn>();
  const stats: FaultProxyStats = { accepted: 0, open: 0, forwarded: 0, responded: 0 };
  let closed = false;

  /** Waits while the mode is `blackhole`; false when the connection died meanwhile. */
  const passable = async (c: Conn): Promise<boolean> => {
    while (mode.kind === 'blackhole') {
      await changed.promise;
      if (c.client.destroyed) return false;
    }
    return !c.client.destroyed;
  };

  /** Copies `from` to `to` chunk by chunk, applying the mode current at each chunk. */
  const pump = (c: Conn, from: net.Socket, to: net.Socket): void => {
    let queue = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        if (!(await passable(c))) return;
        const m = mode;
        if (m.kind === 'latency') await sleep(m.ms);
        if (m.kind === 'bandwidth') {
          // Paced in slices so a large chunk does not arrive in one burst after a long wait.
          const slice = Math.max(1, Math.floor(m.bytesPerSecond / 20));
          for (let off = 0; off < chunk.length && !to.destroyed; off += slice) {
            const part = chunk.subarray(off, off + slice);
            await sleep((part.length / m.bytesPerSecond) * 1000);
            if (!to.write(part)) await new Promise((r) => to.once('drain', r));
          }
        } else if (!to.destroyed && !to.write(chunk)) {
          await new Promise((r) => to.once('drain', r));
        }
        if (!from.destroyed) from.resume();
      });
    });
    from.on('end', () => void queue.then(() => to.end()));
  };

  const finish = (c: Conn): void => {
    if (!conns.delete(c)) return;
    stats.open--;
    c.client.destroy();
    c.upstream?.destroy();
  };

  const respond = (c: Conn, m: Extract<FaultMode, { kind: 'respond' }>): void => {
    let buf = Buffer.alloc(0);
    c.client.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      if (buf.length < end + 4 + Number(length?.[1] ?? 0)) return;
      const body = m.body ?? '';
      const headers = {
        'content-type': 'application/json',
        ...m.headers,
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
      };
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      stats.responded++;
      c.client.end(`HTTP/1.1 ${m.status} Fault\r\n${head}\r\n${body}`);
      buf = Buffer.alloc(0);
    });
  };

  const onConnection = (client: net.Socket): void => {
    const c: Conn = { client, upstream: undefined };
    conns.add(c);
    stats.accepted++;
    stats.open++;
    client.on('error', () => finish(c));
    client.on('close', () => finish(c));
    void (async () => {
      if (!(await passable(c))) return;
      const m = mode;
      if (m.kind === 'reset' || m.kind === 'drop') {
        // `drop` closes the listener; a connection accepted just before is reset like the rest.
        client.resetAndDestroy();
        return;
      }
      if (m.kind === 'respond') {
        respond(c, m);
        return;
      }
      client.pause();
      const upstream = net.connect(opts.target);
      c.upstream = upstream;
      upstream.on('error', () => finish(c));
      upstream.on('close', () => finish(c));
      upstream.once('connect', () => {
        stats.forwarded++;
        pump(c, client, upstream);
        pump(c, upstream, client);
        client.resume();
      });
    })();
  };

  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(opts.port ?? 0);
  let listening = true;

  return {
    host: '127.0.0.1',
    port,
    mode: () => mode,
    async set(next) {
      if (closed) throw new Error('the fault proxy is closed');
      mode = next;
      const wake = changed;
      changed = signal();
      wake.resolve();
      if (next.kind === 'drop' && listening) {
        listening = false;
        const stopped = new Promise<void>((r) => server.close(() => r()));
        for (const c of [...conns]) {
          c.client.end();
          c.upstream?.end();
          finish(c);
        }
        await stopped;
      } else if (next.kind === 'reset') {
        for (const c of [...conns]) {
          c.client.resetAndDestroy();
          c.upstream?.resetAndDestroy();
          finish(c);
        }
      } else if (next.kind === 'respond') {
        for (const c of [...conns]) finish(c);
      }
      if (next.kind !== 'drop' && !listening) {
        await listen(port);
        listening = true;
      }
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      mode = { kind: 'pass' };
      changed.resolve();
      for (const c of [...conns]) finish(c);
      if (listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
