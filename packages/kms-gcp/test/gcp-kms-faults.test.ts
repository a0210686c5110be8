process.env.METADATA_SERVER_DETECTION = 'none';

import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KmsError, withResilience } from '@byok/kms';
import { createGcpKmsProvider, type GcpKeyRef } from '../src/index.js';
import { startGcpHarness, tokenAuth, type GcpHarness } from './gcp-test-harness.js';

const ctx = { tenant: 'tenant-a', purpose: 'tenant-key', version: '1' };
let h: GcpHarness;
let ref: GcpKeyRef;

async function failure(p: Promise<unknown>): Promise<KmsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return err as KmsError;
}

function expectNoSecret(err: KmsError, secret: Uint8Array): void {
  const text = [err.message, JSON.stringify(err), String(err.stack), inspect(err, { depth: 8 })].join(' ');
  expect(text.includes(Buffer.from(secret).toString('hex'))).toBe(false);
  expect(text.includes(Buffer.from(secret).toString('base64'))).toBe(false);
}

beforeAll(async () => {
  h = await startGcpHarness();
  ref = await h.newKey('faults');
});
afterEach(() => {
  h.emulator.setHang(false);
  h.emulator.setDenied(ref.cryptoKeyName, false);
});
afterAll(async () => {
  await h.close();
});

describe('gcp-kms adapter under faults', () => {
  it('retries throttling with jittered backoff via withResilience, then succeeds', async () => {
    const jitter: number[] = [];
    const resilient = withResilience(h.provider, {
      baseDelayMs: 1,
      maxAttempts: 4,
      random: () => {
        jitter.push(0.5);
        return 0.5;
      },
    });
    h.emulator.resetCallCounts();
    h.emulator.throttleNext(2);
    const dk = randomBytes(32);
    const { wrapped } = await resilient.wrap(ref, dk, ctx);
    expect(h.emulator.callCount('Encrypt')).toBe(3);
    expect(jitter).toHaveLength(2);
    expect(Buffer.from((await h.provider.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('gives up with KMS_THROTTLED after maxAttempts, one KMS call per attempt (no gax retries)', async () => {
    const resilient = withResilience(h.provider, { baseDelayMs: 1, maxAttempts: 3, random: () => 0.1 });
    h.emulator.resetCallCounts();
    h.emulator.throttleNext(3);
    const err = await failure(resilient.wrap(ref, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_THROTTLED');
    expect(h.emulator.callCount('Encrypt')).toBe(3);
  });

  it('does not retry UNAVAILABLE inside the SDK: one call, KMS_UNAVAILABLE', async () => {
    h.emulator.resetCallCounts();
    h.emulator.failNext(1, 'UNAVAILABLE');
    const err = await failure(h.provider.wrap(ref, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    expect(h.emulator.callCount('Encrypt')).toBe(1);
  });

  it('turns a hung call into KMS_UNAVAILABLE at the withResilience deadline', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await h.provider.wrap(ref, dk, ctx);
    h.emulator.setHang(true);
    const resilient = withResilience(h.provider, { timeoutMs: 300 });
    const err = await failure(resilient.unwrap(ref, wrapped, ctx));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    expectNoSecret(err, dk);
  });

  it('turns a hung call into KMS_UNAVAILABLE at the adapter deadline (gax timeout) on its own', async () => {
    h.emulator.setHang(true);
    const err = await failure(h.provider.describe(ref, { timeoutMs: 200 }));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    expect(err.message).toMatch(/DEADLINE_EXCEEDED|CANCELLED/);
  });

  it('aborts a hung call through the signal', async () => {
    h.emulator.setHang(true);
    const ac = new AbortController();
    const pending = h.provider.wrap(ref, randomBytes(32), ctx, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect((await failure(pending)).code).toBe('KMS_UNAVAILABLE');
  });

  it('maps a removed IAM binding to KMS_ACCESS_DENIED on every call, without plaintext in the error', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await h.provider.wrap(ref, dk, ctx);
    h.emulator.setDenied(ref.cryptoKeyName, true);
    const unwrapErr = await failure(h.provider.unwrap(ref, wrapped, ctx));
    expect(unwrapErr.code).toBe('KMS_ACCESS_DENIED');
    expect(unwrapErr.revokesAccess).toBe(true);
    expectNoSecret(unwrapErr, dk);
    const wrapErr = await failure(h.provider.wrap(ref, dk, ctx));
    expect(wrapErr.code).toBe('KMS_ACCESS_DENIED');
    expectNoSecret(wrapErr, dk);
    expect((await failure(h.provider.describe(ref))).code).toBe('KMS_ACCESS_DENIED');
  });

  it('maps an unknown access token to KMS_ACCESS_DENIED', async () => {
    const stranger = h.providerWith({ authClient: tokenAuth('not-a-known-token') });
    const dk = randomBytes(32);
    const err = await failure(stranger.wrap(ref, dk, ctx));
    expect(err.code).toBe('KMS_ACCESS_DENIED');
    expectNoSecret(err, dk);
  });

  it('maps an unreachable endpoint to KMS_UNAVAILABLE', async () => {
    const dead = await startGcpHarness();
    const port = dead.emulator.port;
    await dead.close();
    const provider = createGcpKmsProvider({
      apiEndpoint: '127.0.0.1',
      port,
      protocol: 'http',
      authClient: tokenAuth('t'),
    });
    try {
      const dk = randomBytes(32);
      const err = await failure(provider.wrap(ref, dk, ctx, { timeoutMs: 2000 }));
      expect(err.code).toBe('KMS_UNAVAILABLE');
      expectNoSecret(err, dk);
    } finally {
      await provider.close();
    }
  });

  it('maps an unknown key to KEY_NOT_FOUND on describe', async () => {
    const missing: GcpKeyRef = { ...ref, cryptoKeyName: `${ref.cryptoKeyName}-gone`, uri: `${ref.uri}-gone` };
    expect((await failure(h.provider.describe(missing))).code).toBe('KEY_NOT_FOUND');
  });
});
