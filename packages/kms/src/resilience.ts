import { setTimeout as sleep } from 'node:timers/promises';
import { KmsError } from './errors.js';
import type { KeyRef } from './key-ref.js';
import type {
  CallOptions,
  EncryptionContext,
  KeyHealthCapability,
  KmsProvider,
  UnwrapResult,
  WrapResult,
} from './provider.js';

/** Options for {@link withResilience}. */
export interface ResilienceOptions {
  /** Deadline for one attempt, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Attempts in all for throttled calls, the first included (default 4). */
  maxAttempts?: number;
  /** Base of the exponential backoff in milliseconds (default 50). */
  baseDelayMs?: number;
  /** Cap of one backoff sleep in milliseconds (default 2000). */
  maxDelayMs?: number;
  /** Source of randomness in [0, 1), replaceable in tests. */
  random?: () => number;
  /** Called after each attempt, for metrics. */
  onAttempt?: (e: { provider: string; operation: string; outcome: string; durationMs: number }) => void;
}

// Socket errors that mean a kept-alive connection was closed under the request (the server's
// idle timeout racing the client's reuse of the socket), not that the KMS is down.
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const STALE_SOCKET_MESSAGE = /\b(ECONNRESET|EPIPE)\b|socket hang up/;

/** True when `err` (or an error in its cause chain) is a socket closed under a reused connection. */
function staleSocket(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    // `networkCode`: the providers' sanitized stand-ins for SDK errors (e.g. AwsKmsCallError).
    for (const code of [(e as { code?: unknown }).code, (e as { networkCode?: unknown }).networkCode])
      if (typeof code === 'string' && STALE_SOCKET_CODES.has(code)) return true;
    // Stand-ins that keep only the message (e.g. GcpKmsCallError): node's own wording.
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && STALE_SOCKET_MESSAGE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Wraps a provider so every call has a deadline (a hung call becomes KMS_UNAVAILABLE) and
 * throttling is retried with full-jitter exponential backoff (then reported as KMS_THROTTLED).
 * Only throttling is retried here, plus ONE immediate retry of a call whose connection was reset
 * (a kept-alive socket the KMS endpoint had just closed; the SDK clients run with one attempt): an
 * outage is the circuit breaker's business, and a revocation must surface at once.
 */
export function withResilience(inner: KmsProvider, options: ResilienceOptions = {}): KmsProvider {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const base = options.baseDelayMs ?? 50;
  const cap = options.maxDelayMs ?? 2000;
  const random = options.random ?? Math.random;

  async function attempt<T>(
    operation: string,
    ref: KeyRef,
    call: (o: CallOptions) => Promise<T>,
    opts?: CallOptions,
  ): Promise<T> {
    const controller = new AbortController();
    const deadline = opts?.timeoutMs ?? timeoutMs;
    const outer = opts?.signal;
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new KmsError(
          'KMS_UNAVAILABLE',
          `${inner.name} ${operation} of ${ref.uri} exceeded its ${deadline} ms deadline`,
          {
            provider: inner.name,
            keyRef: ref.uri,
            operation,
          },
        );
        controller.abort(err);
        reject(err);
      }, deadline);
    });
    const started = performance.now();
    try {
      const result = await Promise.race([call({ signal: controller.signal, timeoutMs: deadline }), timedOut]);
      options.onAttempt?.({
        provider: inner.name,
        operation,
        outcome: 'ok',
        durationMs: performance.now() - started,
      });
      return result;
    } catch (err) {
      const outcome = err instanceof KmsError ? err.code : 'error';
      options.onAttempt?.({
        provider: inner.name,
        operation,
        outcome,
        durationMs: performance.now() - started,
      });
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  async function run<T>(
    operation: string,
    ref: KeyRef,
    call: (o: CallOptions) => Promise<T>,
    opts?: CallOptions,
  ): Promise<T> {
    let resetRetried = false;
    for (let n = 1; ; n++) {
      try {
        return await attempt(operation, ref, call, opts);
      } catch (err) {
        if (!resetRetried && staleSocket(err) && !opts?.signal?.aborted) {
          resetRetried = true;
          n--;
          continue;
        }
        if (
          !(err instanceof KmsError) ||
          err.code !== 'KMS_THROTTLED' ||
          n >= maxAttempts ||
          opts?.signal?.aborted
        )
          throw err;
        const backoff = random() * Math.min(cap, base * 2 ** (n - 1));
        const hinted = (err.retryAfterSeconds ?? 0) * 1000;
        await sleep(Math.min(cap, Math.max(backoff, hinted)));
      }
    }
  }

  const wrapped: KmsProvider = {
    name: inner.name,
    wrap: (
      ref: KeyRef,
      plaintext: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<WrapResult> => run('wrap', ref, (o) => inner.wrap(ref, plaintext, ctx, o), opts),
    unwrap: (
      ref: KeyRef,
      blob: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<UnwrapResult> => run('unwrap', ref, (o) => inner.unwrap(ref, blob, ctx, o), opts),
  };
  const describe = (inner as Partial<KeyHealthCapability>).describe;
  if (typeof describe === 'function') {
    Object.assign(wrapped, {
      describe: (ref: KeyRef, opts?: CallOptions) =>
        run('describe', ref, (o) => describe.call(inner, ref, o), opts),
    });
  }
  return wrapped;
}
