process.env.AWS_EC2_METADATA_DISABLED = 'true';

import { randomBytes } from 'node:crypto';
import { withResilience } from '@byok/kms';
import type { AwsKmsEmulator } from '@byok/kms-emulators';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createAwsKmsProvider, type AwsKeyRef } from '../src/index.js';
import { type AwsTestEnv, emulatorEnv, expectNoLeak, freePort, rejection } from './aws-test-env.js';

const ctx = { tenant: 'tenant-f', purpose: 'tenant-key', version: '1' };

describe('aws-kms provider under faults (emulator, official SDK on the wire)', () => {
  let emu: AwsKmsEmulator;
  let env: AwsTestEnv;
  let key: AwsKeyRef;
  beforeAll(async () => {
    ({ emu, env } = await emulatorEnv());
    key = await env.createKey();
  });
  afterEach(() => emu.admin.reset());
  afterAll(async () => {
    env.close();
    await emu.close();
  });

  it('retries throttling with backoff, then reports KMS_THROTTLED after exactly maxAttempts calls', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    emu.admin.reset();
    emu.admin.throttleNext(100);
    const resilient = withResilience(env.provider, { maxAttempts: 3, baseDelayMs: 5, timeoutMs: 5000 });
    const err = await rejection(resilient.unwrap(key, wrapped, ctx), 'KMS_THROTTLED');
    expect(emu.admin.callCount('Decrypt')).toBe(3);
    expect(err.message).toContain('ThrottlingException');
    expectNoLeak(err, dk);
  });

  it('succeeds once throttling stops within the attempt budget', async () => {
    const dk = randomBytes(32);
    emu.admin.throttleNext(2);
    const resilient = withResilience(env.provider, { maxAttempts: 3, baseDelayMs: 5 });
    const { wrapped } = await resilient.wrap(key, dk, ctx);
    expect(emu.admin.callCount('Encrypt')).toBe(3);
    expect(Buffer.from((await resilient.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('turns a hung call into KMS_UNAVAILABLE at its deadline', async () => {
    const dk = randomBytes(32);
    emu.admin.setHang(true);
    const resilient = withResilience(env.provider, { maxAttempts: 3, timeoutMs: 200 });
    const err = await rejection(resilient.wrap(key, dk, ctx), 'KMS_UNAVAILABLE');
    expect(err.message).toContain('deadline');
    expect(emu.admin.callCount('Encrypt')).toBe(1);
    expectNoLeak(err, dk);
  });

  it('maps an aborted SDK call (caller signal) to KMS_UNAVAILABLE', async () => {
    emu.admin.setHang(true);
    const err = await rejection(
      env.provider.describe(key, { signal: AbortSignal.timeout(100) }),
      'KMS_UNAVAILABLE',
    );
    expect(err.operation).toBe('describe');
  });

  it('maps a key policy denial to KMS_ACCESS_DENIED, and lifting it restores access', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    emu.admin.setDenied(key.uri, true);
    expectNoLeak(await rejection(env.provider.unwrap(key, wrapped, ctx), 'KMS_ACCESS_DENIED'), dk);
    await rejection(env.provider.wrap(key, dk, ctx), 'KMS_ACCESS_DENIED');
    await rejection(env.provider.describe(key), 'KMS_ACCESS_DENIED');
    emu.admin.setDenied(key.uri, false);
    expect(Buffer.from((await env.provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('rejects an unknown access key (UnrecognizedClientException) as KMS_ACCESS_DENIED', async () => {
    const stranger = createAwsKmsProvider({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x'.repeat(40) },
    });
    const dk = randomBytes(32);
    const err = await rejection(stranger.wrap(key, dk, ctx), 'KMS_ACCESS_DENIED');
    expect((err.cause as Error).name).toBe('UnrecognizedClientException');
    expectNoLeak(err, dk);
  });

  it('rejects a wrong secret (InvalidSignatureException) as KMS_ACCESS_DENIED', async () => {
    const forger = createAwsKmsProvider({
      endpoint: emu.endpoint,
      credentials: { accessKeyId: env.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    const err = await rejection(forger.describe(key), 'KMS_ACCESS_DENIED');
    expect((err.cause as Error).name).toBe('InvalidSignatureException');
  });

  it('maps connection refused to KMS_UNAVAILABLE', async () => {
    const port = await freePort();
    const nowhere = createAwsKmsProvider({
      endpoint: `http://127.0.0.1:${port}`,
      credentials: env.credentials,
    });
    const dk = randomBytes(32);
    const err = await rejection(nowhere.wrap(key, dk, ctx), 'KMS_UNAVAILABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expectNoLeak(err, dk);
  });

  it('binds the wrapped key to the caller context: the emulator refuses another context', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    const before = emu.admin.callCount('Decrypt');
    for (const other of [{ ...ctx, version: '2' }, { ...ctx, extra: 'x' }, { tenant: ctx.tenant }]) {
      const err = await rejection(env.provider.unwrap(key, wrapped, other), 'INVALID_CIPHERTEXT');
      expect((err.cause as Error).name).toBe('InvalidCiphertextException');
      expectNoLeak(err, dk);
    }
    // Refused by the emulator (each attempt reached it), not short of it.
    expect(emu.admin.callCount('Decrypt') - before).toBe(3);
    expect(Buffer.from((await env.provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('passes the caller context as the EncryptionContext of the SDK command (checked on its input)', async () => {
    const calls: unknown[] = [];
    const spy = createAwsKmsProvider({
      client: {
        send: (async (cmd: { input: unknown }) => {
          calls.push(cmd.input);
          return { CiphertextBlob: new Uint8Array([1]), KeyId: key.uri, $metadata: { requestId: 'r-1' } };
        }) as never,
      },
    });
    const res = await spy.wrap(key, new Uint8Array(32), ctx);
    expect(res).toMatchObject({ keyVersion: key.uri, requestId: 'r-1' });
    expect(calls[0]).toMatchObject({ KeyId: key.uri, EncryptionContext: ctx });
  });
});
