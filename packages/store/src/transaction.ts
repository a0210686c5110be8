import type { Pool, PoolClient } from 'pg';
import { toStoreError } from './store-errors.js';

/** Transaction isolation levels accepted by {@link withTransaction}. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Options for {@link withTransaction}. */
export interface TransactionOptions {
  /** Default: the server default (read committed). */
  isolation?: IsolationLevel;
}

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  'read committed': 'BEGIN ISOLATION LEVEL READ COMMITTED',
  'repeatable read': 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
};

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled client and releases it. If `fn` throws, rolls back
 * and rethrows: database errors as `StoreError`, anything else unchanged. If COMMIT itself fails
 * the outcome is unknown to the caller and it gets a `StoreError` (usually `UNAVAILABLE`).
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  opts: TransactionOptions = {},
): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toStoreError(err);
  }
  // A checked-out pg client has no 'error' listener: a connection lost between statements would
  // be an unhandled 'error' event and crash the process. Record it; the next query fails anyway.
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost = err;
  };
  client.on('error', onError);
  const release = (err?: unknown): void => {
    client.off('error', onError);
    const reason = err ?? lost;
    client.release(reason === undefined ? undefined : asError(reason));
  };
  try {
    await client.query(opts.isolation ? ISOLATION_SQL[opts.isolation] : 'BEGIN');
  } catch (err) {
    release(err);
    throw toStoreError(err);
  }
  let result: T;
  try {
    result = await fn(client);
  } catch (err) {
    try {
      await client.query('ROLLBACK');
      release();
    } catch (rollbackErr) {
      // The connection is unusable: destroy it rather than return it to the pool.
      release(rollbackErr);
    }
    throw isDriverError(err) ? toStoreError(err) : err;
  }
  try {
    await client.query('COMMIT');
  } catch (err) {
    release(err);
    throw toStoreError(err);
  }
  release();
  return result;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

// pg's DatabaseError and socket errors; domain errors thrown by `fn` are left alone.
function isDriverError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'StoreError' || err.name === 'DatabaseError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return true;
  return /Connection terminated|ECONN|EPIPE|ETIMEDOUT|not queryable/.test(`${err.message} ${String(code)}`);
}
