import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { StoreError, toStoreError } from './store-errors.js';
import type { Queryable, StoreLogger } from './store-types.js';

/** Options for {@link listenChannel}. */
export interface ChannelListenerOptions {
  /** Server to LISTEN on; the listener holds its own connection, never one of the pool's. */
  databaseUrl: string;
  /** Channel name: a plain lower-case identifier (it cannot be a bound parameter of LISTEN). */
  channel: string;
  /** Receives each notification's payload, in order. */
  onNotification: (payload: string) => void;
  /**
   * Called once LISTEN is in place after every (re)connect, and at once after every loss:
   * notifications sent while not listening are gone, so whatever they would have invalidated must go.
   */
  onResync: () => void;
  logger?: StoreLogger;
  /** First reconnect delay in ms (default 100); doubles, with jitter, up to `maxRetryMs` (default 5000). */
  retryMs?: number;
  maxRetryMs?: number;
  /** How long {@link listenChannel} waits for the first LISTEN before returning anyway (default 10 s). */
  readyTimeoutMs?: number;
  /**
   * Every `heartbeatMs` (default 2000; 0 = off) the listener runs `SELECT 1` on its connection; an
   * answer later than `heartbeatTimeoutMs` (default 1.5 x heartbeatMs) counts as a lost connection.
   * A partition (packets dropped, no reset) otherwise goes unnoticed for as long as TCP retries,
   * while everything sent on the channel meanwhile may be lost.
   */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
}

/** A running listener. */
export interface ChannelListener {
  /** Ends the connection and the reconnect loop. */
  stop(): Promise<void>;
}

const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL_RE.test(channel))
    throw new StoreError('INTERNAL', `invalid channel name ${JSON.stringify(channel)}`);
}

/** Sends `payload` on `channel` (delivered to listeners when the caller's transaction, if any, commits). */
export async function notifyChannel(q: Queryable, channel: string, payload: string): Promise<void> {
  checkChannel(channel);
  await q.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

/**
 * PostgreSQL LISTEN on a dedicated connection that reconnects with jittered backoff after any loss.
 * Resolves once the first LISTEN is in place (or after `readyTimeoutMs`, still retrying behind).
 * For PostgreSQL servers; the embedded PGlite serves one instance, which has nobody to listen to.
 */
export async function listenChannel(o: ChannelListenerOptions): Promise<ChannelListener> {
  checkChannel(o.channel);
  const retryMs = o.retryMs ?? 100;
  const maxRetryMs = o.maxRetryMs ?? 5000;
  const heartbeatMs = o.heartbeatMs ?? 2000;
  const heartbeatTimeoutMs = o.heartbeatTimeoutMs ?? Math.round(heartbeatMs * 1.5);
  const stopping = new AbortController();
  let client: pg.Client | undefined;
  let ready: (() => void) | undefined;
  const firstListen = new Promise<void>((resolve) => (ready = resolve));

  /** Ends `c` (a hung query makes pg destroy the socket) when a `SELECT 1` is not answered in time. */
  const heartbeat = (c: pg.Client): NodeJS.Timeout => {
    let pending = false;
    return setInterval(() => {
      if (pending) return;
      pending = true;
      const deadline = setTimeout(() => {
        o.logger?.warn(
          { channel: o.channel, heartbeatTimeoutMs },
          'listener heartbeat unanswered; reconnecting',
        );
        void c.end().catch(() => undefined);
      }, heartbeatTimeoutMs);
      c.query('SELECT 1')
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(deadline);
          pending = false;
        });
    }, heartbeatMs);
  };

  const run = async (): Promise<void> => {
    let delay = retryMs;
    while (!stopping.signal.aborted) {
      const c = new pg.Client({
        connectionString: o.databaseUrl,
        keepAlive: true,
        // Names the connection in pg_stat_activity (operators and tests find the listeners by it).
        application_name: `byok-listener:${o.channel}`,
        // A connect into a partition must fail and be retried, not wait for ever.
        connectionTimeoutMillis: Math.max(heartbeatTimeoutMs, 1000),
      });
      client = c;
      const lost = new Promise<void>((resolve) => {
        c.once('error', () => resolve());
        c.once('end', () => resolve());
      });
      try {
        await c.connect();
        c.on('notification', (msg) => o.onNotification(msg.payload ?? ''));
        await c.query(`LISTEN ${o.channel}`);
        o.onResync();
        o.logger?.info({ channel: o.channel }, 'LISTEN in place');
        ready?.();
        delay = retryMs;
        const beat = heartbeatMs > 0 ? heartbeat(c) : undefined;
        await lost;
        if (beat) clearInterval(beat);
        if (!stopping.signal.aborted)
          o.logger?.warn({ channel: o.channel }, 'listener lost its connection; reconnecting');
      } catch (err) {
        if (!stopping.signal.aborted)
          o.logger?.warn(
            { channel: o.channel, err: toStoreError(err).message },
            'listener cannot connect; retrying',
          );
      } finally {
        await c.end().catch(() => undefined);
      }
      if (stopping.signal.aborted) return;
      // Purge now, not only at reconnect: while disconnected nothing sent on the channel is heard.
      o.onResync();
      await sleep(delay + Math.random() * delay, undefined, { signal: stopping.signal }).catch(
        () => undefined,
      );
      delay = Math.min(delay * 2, maxRetryMs);
    }
  };

  const loop = run();
  const waited = new AbortController();
  await Promise.race([
    firstListen,
    sleep(o.readyTimeoutMs ?? 10_000, undefined, { signal: waited.signal }).catch(() => undefined),
  ]);
  waited.abort();
  return {
    async stop() {
      stopping.abort();
      await client?.end().catch(() => undefined);
      await loop.catch(() => undefined);
    },
  };
}
