import { ByokApiError } from './client-errors.js';

/** Retry settings for idempotent calls. */
export interface RetryOptions {
  /** Total attempts including the first (1 disables retries). Default 3. */
  maxAttempts?: number;
  /** Backoff base: attempt n waits up to `baseDelayMs * 2^(n-1)`. Default 100. */
  baseDelayMs?: number;
  /** Cap on the exponential backoff. Default 2000. */
  maxDelayMs?: number;
  /**
   * Longest server `Retry-After` the client will wait for. A longer one is not waited out: the
   * call fails with the server's error and its `retryAfterMs`, so the caller decides. Default 30000.
   */
  maxRetryAfterMs?: number;
}

/** Fully resolved {@link RetryOptions}. */
export type RetryPolicy = Required<RetryOptions>;

/** Defaults from the client's documented contract. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  maxRetryAfterMs: 30_000,
});

/** Statuses worth repeating an idempotent call for: overload and throttling, both transient. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** Merges caller options over the defaults, rejecting nonsense so a typo cannot mean "retry forever". */
export function resolveRetryPolicy(opts: RetryOptions | undefined): RetryPolicy {
  const p = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(opts ?? {}) };
  const bad = (detail: string) => new ByokApiError({ code: 'CONFIG_INVALID', detail });
  const wholeAtLeast = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!wholeAtLeast(p.maxAttempts, 1) || p.maxAttempts > 20)
    throw bad('retries.maxAttempts must be an integer from 1 to 20');
  if (!wholeAtLeast(p.baseDelayMs, 0)) throw bad('retries.baseDelayMs must be an integer >= 0');
  if (!wholeAtLeast(p.maxDelayMs, 0)) throw bad('retries.maxDelayMs must be an integer >= 0');
  if (!wholeAtLeast(p.maxRetryAfterMs, 0)) throw bad('retries.maxRetryAfterMs must be an integer >= 0');
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP-date) into milliseconds from `now`.
 * Returns undefined for a missing or unreadable header; a date in the past means 0.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Delay before retry number `retry` (1 = the first retry). Full jitter (AWS architecture blog,
 * "Exponential Backoff and Jitter"): uniform in [0, min(maxDelay, base * 2^(retry-1))), which
 * spreads a herd of clients better than equal or decorrelated jitter. The server's Retry-After is
 * a floor: the client never comes back sooner than it was told to.
 */
export function computeDelayMs(
  policy: RetryPolicy,
  retry: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}
