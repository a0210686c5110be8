import type { QueryResult, QueryResultRow } from 'pg';

/**
 * Anything that runs a parameterised query: a `pg.Pool`, a checked-out `pg.PoolClient` or a
 * `pg.Client`. Repositories take this so the same code runs inside or outside a transaction.
 */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** The logger slice the store uses; a pino logger satisfies it. */
export interface StoreLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** When present and false for 'debug', per-statement SQL logging is not even set up. */
  isLevelEnabled?(level: string): boolean;
}

/** Re-exported so dependants need no direct `pg` dependency for types. */
export type { Pool, PoolClient } from 'pg';
