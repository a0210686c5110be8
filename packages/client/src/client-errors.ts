import type { ErrorCode, Problem } from '@byok/contract';

/** Codes the client itself raises when no problem body from the service explains the failure. */
export const CLIENT_ERROR_CODES = [
  /** The connection failed (refused, reset, DNS) before a response arrived. */
  'NETWORK',
  /** No complete response within `timeoutMs`. */
  'TIMEOUT',
  /** The request failed the contract schema; nothing was sent. */
  'REQUEST_INVALID',
  /** A response arrived but did not match the contract (bad JSON, wrong shape). */
  'RESPONSE_INVALID',
  /** `createClient` options are unusable (bad URL, token or retry settings). */
  'CONFIG_INVALID',
  /** A non-2xx response without a recognisable problem body (e.g. a proxy's 502 page). */
  'HTTP_ERROR',
] as const;

/** One of {@link CLIENT_ERROR_CODES}. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** Every code a {@link ByokApiError} can carry: the service's stable codes plus the client's own. */
export type ByokErrorCode = ErrorCode | ClientErrorCode;

/** Fields of a {@link ByokApiError}; all optional except `code`. */
export interface ByokApiErrorInit {
  code: ByokErrorCode;
  /** HTTP status, or 0 when no response arrived. */
  status?: number;
  detail?: string;
  requestId?: string;
  title?: string;
  errors?: { path: string; message: string }[];
  /** Server's Retry-After, in milliseconds, when it sent one. */
  retryAfterMs?: number;
  /** How many attempts were made (1 = no retry). */
  attempts?: number;
  /** The parsed problem body, when the service sent one. */
  problem?: Problem;
  cause?: unknown;
}

/**
 * Every failure of a client call. `detail` and `message` come from the service's problem body
 * (which never carries secrets) or from fixed client text; request bodies, tokens and plaintexts
 * are never copied into an error.
 */
export class ByokApiError extends Error {
  override readonly name = 'ByokApiError';
  /** Stable code: a service {@link ErrorCode} or a {@link ClientErrorCode}. */
  readonly code: ByokErrorCode;
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  /** Human-readable detail (safe to log). */
  readonly detail: string | undefined;
  /** The service's request id (X-Request-Id), for correlating with its logs and audit events. */
  readonly requestId: string | undefined;
  /** Problem title. */
  readonly title: string | undefined;
  /** Field-level validation issues (paths and messages only, never values). */
  readonly errors: { path: string; message: string }[] | undefined;
  /** Server's Retry-After in milliseconds, when sent. */
  readonly retryAfterMs: number | undefined;
  /** Attempts made before giving up. */
  readonly attempts: number;
  /** The parsed problem body, when the service sent one. */
  readonly problem: Problem | undefined;

  constructor(init: ByokApiErrorInit) {
    const status = init.status ?? 0;
    super(
      `${init.code}${status ? ` (HTTP ${status})` : ''}${init.detail ? `: ${init.detail}` : ''}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.code = init.code;
    this.status = status;
    this.detail = init.detail;
    this.requestId = init.requestId;
    this.title = init.title;
    this.errors = init.errors;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts ?? 1;
    this.problem = init.problem;
  }

  /** True when this error carries `code`. */
  is(code: ByokErrorCode): boolean {
    return this.code === code;
  }
}

/** True when `err` is a {@link ByokApiError} (optionally with `code`). */
export function isByokApiError(err: unknown, code?: ByokErrorCode): err is ByokApiError {
  return err instanceof ByokApiError && (code === undefined || err.code === code);
}
