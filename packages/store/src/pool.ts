import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { instrumentClient } from './query-logging.js';
import { StoreError, toStoreError } from './store-errors.js';
import type { Queryable, StoreLogger } from './store-types.js';

/** Options for {@link createPool}. */
export interface CreatePoolOptions {
  /** `postgres://` URL of a PostgreSQL server. Without it an embedded PGlite is started. */
  databaseUrl?: string;
  /** Directory where the embedded PGlite persists its data; in memory when omitted. */
  dataDir?: string;
  /** Pool size for PostgreSQL (default 10). Always 1 for PGlite, which serves one connection. */
  max?: number;
  /** Milliseconds to wait for a connection before failing with `UNAVAILABLE` (default 5000). */
  connectionTimeoutMs?: number;
  /** Receives SQL text and duration at debug level; never parameters. */
  logger?: StoreLogger;
  /**
   * PostgreSQL ends a session left idle inside a transaction this long (default 90000 ms), so a
   * stuck request cannot hold a pooled connection and its locks for ever. 0 = off. Not for PGlite.
   */
  idleInTransactionTimeoutMs?: number;
}

/** An open database: a `pg.Pool` plus what it points at and how to shut it down. */
export interface Store {
  pool: pg.Pool;
  kind: 'postgres' | 'pglite';
  /** The URL the pool connects to; for PGlite, the local socket server's URL. */
  databaseUrl: string;
  /** Ends the pool and, for PGlite, stops the socket server and closes the database. */
  close(): Promise<void>;
}

/** A running embedded PGlite reachable over the PostgreSQL wire protocol. */
export interface EmbeddedServer {
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (persisted under `dataDir`, or in memory) behind a PostgreSQL wire-protocol
 * server on 127.0.0.1, on a port the OS picks.
 */
export async function startEmbeddedPostgres(dataDir?: string): Promise<EmbeddedServer> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir !== undefined ? { dataDir } : {});
  // PGlite executes one query at a time; the socket server multiplexes connections onto it.
  // Clients should still use ONE pooled connection. The extra slots exist because pg.Pool
  // discards a client after a query error and reconnects at once: with a single slot the new
  // connection is refused while the old socket is still being detached (seen here with
  // pglite-socket 0.2.17), and the next query fails with "Connection terminated".
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const databaseUrl = `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  return {
    databaseUrl,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

function newPool(url: string, max: number, opts: CreatePoolOptions, idleInTransactionMs?: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5000,
    ...(idleInTransactionMs ? { idle_in_transaction_session_timeout: idleInTransactionMs } : {}),
  });
  const logger = opts.logger;
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would crash
  // the process. The pool drops that client and the next checkout reconnects.
  pool.on('error', (err) =>
    logger?.warn({ err: toStoreError(err).message }, 'idle database connection lost'),
  );
  // Statement timing costs a wrapper per query; skip it unless debug logs would show it.
  if (logger && (logger.isLevelEnabled?.('debug') ?? true)) {
    pool.on('connect', (client) => instrumentClient(client, logger));
  }
  return pool;
}

/**
 * Opens the store. With `databaseUrl`, a normal `pg.Pool`; without it, an embedded PGlite served
 * over the wire protocol and reached through the same `pg` code path with `max: 1`.
 * Checks connectivity once; fails with `StoreError('UNAVAILABLE')` when the database is unreachable.
 */
export async function createPool(opts: CreatePoolOptions = {}): Promise<Store> {
  if (opts.databaseUrl !== undefined) {
    const pool = newPool(opts.databaseUrl, opts.max ?? 10, opts, opts.idleInTransactionTimeoutMs ?? 90000);
    const store: Store = {
      pool,
      kind: 'postgres',
      databaseUrl: opts.databaseUrl,
      close: () => pool.end(),
    };
    await checkReachable(store);
    return store;
  }
  const embedded = await startEmbeddedPostgres(opts.dataDir);
  const pool = newPool(embedded.databaseUrl, 1, opts);
  const store: Store = {
    pool,
    kind: 'pglite',
    databaseUrl: embedded.databaseUrl,
    async close() {
      await pool.end();
      await embedded.stop();
    },
  };
  await checkReachable(store);
  opts.logger?.info({ dataDir: opts.dataDir ?? null }, 'embedded PGlite database started');
  return store;
}

/** Resolves when the database answers a trivial query (readiness checks). */
export async function ping(q: Queryable): Promise<void> {
  await q.query('SELECT 1');
}

async function checkReachable(store: Store): Promise<void> {
  try {
    await ping(store.pool);
  } catch (err) {
    await store.close().catch(() => undefined);
    const mapped = toStoreError(err);
    throw mapped.code === 'UNAVAILABLE'
      ? mapped
      : new StoreError('UNAVAILABLE', `database unavailable: ${mapped.message}`, { cause: err });
  }
}
