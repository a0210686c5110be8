import type { PoolClient } from 'pg';
import type { StoreLogger } from './store-types.js';

type AnyFn = (...args: unknown[]) => unknown;

function sqlText(first: unknown): string | undefined {
  if (typeof first === 'string') return first;
  if (typeof first === 'object' && first !== null && typeof (first as { text?: unknown }).text === 'string') {
    return (first as { text: string }).text;
  }
  return undefined;
}

/**
 * Wraps `client.query` so every statement logs its SQL text and duration at debug level.
 * Parameters are never logged: they carry tenant data and, for some tables, wrapped keys.
 */
export function instrumentClient(client: PoolClient, logger: StoreLogger): void {
  const original = client.query.bind(client) as unknown as AnyFn;
  const wrapped: AnyFn = (...args) => {
    const sql = sqlText(args[0]);
    // Submittables (cursors, streams) manage their own lifecycle: pass them through untimed.
    if (sql === undefined) return original(...args);
    const started = performance.now();
    const done = (err: unknown): void => {
      const durationMs = Math.round((performance.now() - started) * 100) / 100;
      logger.debug({ sql, durationMs, failed: err ? true : undefined }, 'sql');
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const cb = last as AnyFn;
      args[args.length - 1] = (err: unknown, ...rest: unknown[]) => {
        done(err);
        return cb(err, ...rest);
      };
      return original(...args);
    }
    const result = original(...args);
    if (result instanceof Promise) {
      result.then(
        () => done(undefined),
        (err: unknown) => done(err),
      );
    }
    return result;
  };
  (client as unknown as { query: AnyFn }).query = wrapped;
}
