/** Stable codes for store failures; callers branch on these, never on driver messages. */
export const STORE_ERROR_CODES = [
  'CONFLICT',
  'CONSTRAINT_VIOLATION',
  'SERIALIZATION_FAILURE',
  'PERMISSION_DENIED',
  'UNAVAILABLE',
  'MIGRATION_MISMATCH',
  'INTERNAL',
] as const;

/** One of {@link STORE_ERROR_CODES}. */
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/** Options for {@link StoreError}. */
export interface StoreErrorOptions {
  /** PostgreSQL SQLSTATE when the server answered, e.g. `23505`. */
  sqlState?: string;
  /** Constraint name the server reported; safe metadata, never row values. */
  constraint?: string;
  /** Table the server reported. */
  table?: string;
  cause?: unknown;
}

/**
 * A typed store failure. The message carries the server's primary message at most (no query
 * parameters, no `detail`, which can echo row values).
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly sqlState: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;

  constructor(code: StoreErrorCode, message: string, options: StoreErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.sqlState = options.sqlState;
    this.constraint = options.constraint;
    this.table = options.table;
  }

  /** Serialization failures and outages may succeed when the whole transaction is tried again. */
  get retryable(): boolean {
    return this.code === 'SERIALIZATION_FAILURE' || this.code === 'UNAVAILABLE';
  }
}

/** True when `err` is a {@link StoreError}. */
export function isStoreError(err: unknown): err is StoreError {
  return err instanceof StoreError;
}

interface PgErrorShape {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  table?: unknown;
}

// Node socket errors that mean "the server is not reachable", as opposed to a bad query.
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

function codeForSqlState(state: string): StoreErrorCode {
  if (state === '23505') return 'CONFLICT';
  if (state.startsWith('23')) return 'CONSTRAINT_VIOLATION';
  if (state === '40001' || state === '40P01') return 'SERIALIZATION_FAILURE';
  if (state === '42501') return 'PERMISSION_DENIED';
  // 08: connection exception; 53: insufficient resources; 57P0x: shutdown / cannot connect now.
  if (state.startsWith('08') || state.startsWith('53') || state.startsWith('57P')) return 'UNAVAILABLE';
  return 'INTERNAL';
}

function looksLikeConnectionLoss(message: string): boolean {
  // pg and pg-pool messages for a lost socket, a failed connect and a checkout that timed out.
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect|Query read timeout|Client was closed/i.test(
    message,
  );
}

/**
 * Maps anything thrown by `pg` onto a {@link StoreError}: `23505` to `CONFLICT`, other `23xxx`
 * to `CONSTRAINT_VIOLATION`, socket failures to `UNAVAILABLE`, the rest to `INTERNAL`.
 * A `StoreError` passes through unchanged.
 */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as PgErrorShape;
  const message = typeof e.message === 'string' ? e.message : 'database operation failed';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return new StoreError(codeForSqlState(code), message, {
      sqlState: code,
      constraint: typeof e.constraint === 'string' ? e.constraint : undefined,
      table: typeof e.table === 'string' ? e.table : undefined,
      cause: err,
    });
  }
  if ((code !== undefined && NETWORK_ERRNOS.has(code)) || looksLikeConnectionLoss(message)) {
    return new StoreError('UNAVAILABLE', `database unavailable: ${message}`, { cause: err });
  }
  return new StoreError('INTERNAL', message, { cause: err });
}
