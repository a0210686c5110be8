import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { KmsError, type KmsErrorCode } from './errors.js';
import { parseLocalKeyRef } from './local/local-key-ref.js';
import type { KmsProvider } from './provider.js';
import { withResilience } from './resilience.js';

const ref = parseLocalKeyRef('local:resilience');
const ctx = { tenant: 't', purpose: 'tenant-key', version: '1' };

/** A fake provider whose every call runs `behaviour`; it records the signals it was given. */
function fakeProvider(behaviour: (n: number, signal?: AbortSignal) => Promise<Uint8Array>) {
  let calls = 0;
  const signals: (AbortSignal | undefined)[] = [];
  const provider: KmsProvider = {
    name: 'local',
    wrap: async (_r, _p, _c, o) => {
      signals.push(o?.signal);
      return { wrapped: await behaviour(++calls, o?.signal) };
    },
    unwrap: async (_r, _w, _c, o) => {
      signals.push(o?.signal);
      return { plaintext: await behaviour(++calls, o?.signal) };
    },
  };
  return { provider, calls: () => calls, signals };
}

const fail = (code: KmsErrorCode, retryAfterSeconds?: number) =>
  new KmsError(code, `fake ${code}`, { provider: 'local', keyRef: ref.uri, retryAfterSeconds });

async function caught(p: Promise<unknown>): Promise<KmsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return err as KmsError;
}

describe('withResilience', () => {
  it('turns a hung call into KMS_UNAVAILABLE at its deadline and aborts the inner call', async () => {
    const fake = fakeProvider(() => new Promise<Uint8Array>(() => undefined));
    const p = withResilience(fake.provider, { timeoutMs: 50, maxAttempts: 3 });
    const err = await caught(p.unwrap(ref, new Uint8Array(8), ctx));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    expect(err.message).toMatch(/deadline/);
    expect(fake.calls()).toBe(1);
    expect(fake.signals[0]?.aborted).toBe(true);
  });

  it('honours a per-call deadline over the default', async () => {
    const fake = fakeProvider(() => new Promise<Uint8Array>(() => undefined));
    const p = withResilience(fake.provider, { timeoutMs: 60_000 });
    const err = await caught(p.wrap(ref, randomBytes(32), ctx, { timeoutMs: 30 }));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    expect(err.message).toContain('30 ms');
  });

  it('retries throttling, then reports KMS_THROTTLED after maxAttempts attempts', async () => {
    const fake = fakeProvider(async () => {
      throw fail('KMS_THROTTLED');
    });
    const p = withResilience(fake.provider, { maxAttempts: 4, baseDelayMs: 1, random: () => 0.5 });
    const err = await caught(p.wrap(ref, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_THROTTLED');
    expect(fake.calls()).toBe(4);
  });

  it('succeeds when throttling stops before the last attempt', async () => {
    const fake = fakeProvider(async (n) => {
      if (n < 3) throw fail('KMS_THROTTLED');
      return new Uint8Array([7]);
    });
    const p = withResilience(fake.provider, { maxAttempts: 4, baseDelayMs: 1 });
    const { plaintext } = await p.unwrap(ref, new Uint8Array(8), ctx);
    expect([...plaintext]).toEqual([7]);
    expect(fake.calls()).toBe(3);
  });

  it.each(['KEY_REVOKED', 'KMS_ACCESS_DENIED', 'KEY_NOT_FOUND', 'INVALID_CIPHERTEXT'] as const)(
    'does not retry %s',
    async (code) => {
      const fake = fakeProvider(async () => {
        throw fail(code);
      });
      const p = withResilience(fake.provider, { maxAttempts: 5, baseDelayMs: 1 });
      expect((await caught(p.unwrap(ref, new Uint8Array(8), ctx))).code).toBe(code);
      expect(fake.calls()).toBe(1);
    },
  );

  it('does not retry an outage (that is the circuit breaker’s business)', async () => {
    const fake = fakeProvider(async () => {
      throw fail('KMS_UNAVAILABLE');
    });
    const p = withResilience(fake.provider, { maxAttempts: 5, baseDelayMs: 1 });
    expect((await caught(p.wrap(ref, randomBytes(32), ctx))).code).toBe('KMS_UNAVAILABLE');
    expect(fake.calls()).toBe(1);
  });

  it('retries a reset connection once at once (a stale kept-alive socket), never twice', async () => {
    const reset = () =>
      new KmsError('KMS_UNAVAILABLE', 'fake reset', {
        provider: 'local',
        keyRef: ref.uri,
        cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      });
    const once = fakeProvider(async (n) => {
      if (n === 1) throw reset();
      return new Uint8Array(32);
    });
    const p = withResilience(once.provider, { maxAttempts: 1 });
    expect((await p.unwrap(ref, new Uint8Array(8), ctx)).plaintext).toHaveLength(32);
    expect(once.calls()).toBe(2);
    const always = fakeProvider(async () => {
      throw reset();
    });
    const q = withResilience(always.provider, { maxAttempts: 4, baseDelayMs: 1 });
    expect((await caught(q.unwrap(ref, new Uint8Array(8), ctx))).code).toBe('KMS_UNAVAILABLE');
    expect(always.calls()).toBe(2);
    // A provider stand-in that keeps only the message (GcpKmsCallError) is recognised too.
    const byMessage = fakeProvider(async (n) => {
      if (n === 1)
        throw new KmsError('KMS_UNAVAILABLE', 'fake', {
          provider: 'local',
          keyRef: ref.uri,
          cause: new Error('request to http://kms/v1 failed, reason: socket hang up'),
        });
      return new Uint8Array(32);
    });
    await withResilience(byMessage.provider).unwrap(ref, new Uint8Array(8), ctx);
    expect(byMessage.calls()).toBe(2);
  });

  it('waits at least Retry-After before the next attempt, even when jitter says less', async () => {
    const stamps: number[] = [];
    const fake = fakeProvider(async (n) => {
      stamps.push(performance.now());
      if (n === 1) throw fail('KMS_THROTTLED', 0.2);
      return new Uint8Array([1]);
    });
    const p = withResilience(fake.provider, { maxAttempts: 2, baseDelayMs: 1, random: () => 0 });
    await p.unwrap(ref, new Uint8Array(8), ctx);
    expect(fake.calls()).toBe(2);
    // Timers may fire a little early on a busy machine; 150 ms still proves the 0 ms jitter was overridden.
    expect((stamps[1] ?? 0) - (stamps[0] ?? 0)).toBeGreaterThanOrEqual(150);
  });

  it('draws each backoff from the jitter source', async () => {
    const draws: number[] = [];
    const fake = fakeProvider(async () => {
      throw fail('KMS_THROTTLED');
    });
    const p = withResilience(fake.provider, {
      maxAttempts: 3,
      baseDelayMs: 1,
      random: () => {
        draws.push(1);
        return 0;
      },
    });
    await caught(p.wrap(ref, randomBytes(32), ctx));
    expect(draws).toHaveLength(2);
  });

  it('stops retrying when the caller aborts', async () => {
    const controller = new AbortController();
    const fake = fakeProvider(async () => {
      controller.abort();
      throw fail('KMS_THROTTLED');
    });
    const p = withResilience(fake.provider, { maxAttempts: 5, baseDelayMs: 1 });
    expect((await caught(p.wrap(ref, randomBytes(32), ctx, { signal: controller.signal }))).code).toBe(
      'KMS_THROTTLED',
    );
    expect(fake.calls()).toBe(1);
  });

  it('keeps the describe capability when the inner provider has it', async () => {
    const fake = fakeProvider(async () => new Uint8Array(0));
    expect('describe' in withResilience(fake.provider)).toBe(false);
    const withHealth = Object.assign(fake.provider, {
      describe: async () => ({ state: 'enabled' as const }),
    });
    const p = withResilience(withHealth) as typeof withHealth;
    expect((await p.describe()).state).toBe('enabled');
  });
});
