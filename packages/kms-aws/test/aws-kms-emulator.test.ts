process.env.AWS_EC2_METADATA_DISABLED = 'true';

import { randomBytes, randomUUID } from 'node:crypto';
import { CancelKeyDeletionCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { parseLocalKeyRef } from '@byok/kms';
import { parseAwsKeyRef, type AwsKeyRef } from '../src/index.js';
import { describeKmsProvider } from '@byok/kms/conformance';
import type { AwsKmsEmulator } from '@byok/kms-emulators';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AwsTestEnv, emulatorEnv, rejection } from './aws-test-env.js';

const ctx = { tenant: 'tenant-a', purpose: 'tenant-key', version: '1' };
const missing = (region: string, account: string) =>
  parseAwsKeyRef(`arn:aws:kms:${region}:${account}:key/${randomUUID()}`);

describeKmsProvider('aws-kms via @aws-sdk/client-kms against the AWS KMS emulator', async () => {
  const { emu, env } = await emulatorEnv();
  return {
    provider: env.provider,
    keyRef: await env.createKey(),
    otherKeyRef: await env.createKey(),
    missingKeyRef: missing(emu.region, emu.accountId),
    // DisableKey / EnableKey through the SDK: what a customer does in their own account.
    disable: (ref) => env.disable(ref as AwsKeyRef),
    enable: (ref) => env.enable(ref as AwsKeyRef),
    close: async () => {
      env.close();
      await emu.close();
    },
  };
});

describe('aws-kms provider against the emulator: ARNs, deletion, health', () => {
  let emu: AwsKmsEmulator;
  let env: AwsTestEnv;
  beforeAll(async () => {
    ({ emu, env } = await emulatorEnv());
  });
  afterAll(async () => {
    env.close();
    await emu.close();
  });

  it('round-trips through an alias ARN and reports the key ARN as the key version', async () => {
    const key = await env.createKey();
    const alias = await env.createAlias(key, `tenant-${randomUUID()}`);
    expect(alias.kind).toBe('alias');
    const dk = randomBytes(32);
    const w = await env.provider.wrap(alias, dk, ctx);
    expect(w.keyVersion).toBe(key.uri);
    expect(w.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const viaKey = await env.provider.unwrap(key, w.wrapped, ctx);
    expect(Buffer.from(viaKey.plaintext).equals(dk)).toBe(true);
    const viaAlias = await env.provider.unwrap(alias, w.wrapped, ctx);
    expect(Buffer.from(viaAlias.plaintext).equals(dk)).toBe(true);
    expect(viaAlias.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports an unknown alias as KEY_NOT_FOUND', async () => {
    const ref = parseAwsKeyRef(`arn:aws:kms:${emu.region}:${emu.accountId}:alias/none-${randomUUID()}`);
    await rejection(env.provider.wrap(ref, randomBytes(32), ctx), 'KEY_NOT_FOUND');
  });

  it('round-trips with a multi-Region key ARN', async () => {
    const key = await env.createKey({ multiRegion: true });
    expect(key.multiRegion).toBe(true);
    expect(key.resource).toMatch(/^key\/mrk-[0-9a-f]{32}$/);
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    expect(Buffer.from((await env.provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('sends each call to the region named in the key ARN', async () => {
    const key = await env.createKey({ region: 'eu-west-1' });
    expect(key.region).toBe('eu-west-1');
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    expect(Buffer.from((await env.provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    // The same key id in another region is a different (absent) key.
    const elsewhere = parseAwsKeyRef(key.uri.replace('eu-west-1', 'us-east-1'));
    await rejection(env.provider.wrap(elsewhere, dk, ctx), 'KEY_NOT_FOUND');
  });

  it('refuses a key pending deletion with KEY_REVOKED; cancel and enable restore it', async () => {
    const key = await env.createKey();
    const dk = randomBytes(32);
    const { wrapped } = await env.provider.wrap(key, dk, ctx);
    await env.admin().send(new ScheduleKeyDeletionCommand({ KeyId: key.uri, PendingWindowInDays: 7 }));
    await rejection(env.provider.unwrap(key, wrapped, ctx), 'KEY_REVOKED');
    await rejection(env.provider.wrap(key, dk, ctx), 'KEY_REVOKED');
    expect(await env.provider.describe(key)).toMatchObject({
      state: 'pending-deletion',
      detail: 'PendingDeletion',
    });
    await env.admin().send(new CancelKeyDeletionCommand({ KeyId: key.uri }));
    // AWS leaves a key Disabled after its deletion is cancelled.
    expect((await env.provider.describe(key)).state).toBe('disabled');
    await rejection(env.provider.unwrap(key, wrapped, ctx), 'KEY_REVOKED');
    await env.enable(key);
    expect(Buffer.from((await env.provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('describes enabled, disabled and unknown keys', async () => {
    const key = await env.createKey();
    const health = await env.provider.describe(key);
    expect(health).toMatchObject({ state: 'enabled', detail: 'Enabled' });
    expect(health.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await env.disable(key);
    expect((await env.provider.describe(key)).state).toBe('disabled');
    await rejection(env.provider.describe(missing(emu.region, emu.accountId)), 'KEY_NOT_FOUND');
  });

  it('carries the AWS request id and key reference on errors', async () => {
    const key = await env.createKey();
    const { wrapped } = await env.provider.wrap(key, randomBytes(32), ctx);
    const err = await rejection(
      env.provider.unwrap(key, wrapped, { ...ctx, tenant: 'x' }),
      'INVALID_CIPHERTEXT',
    );
    expect(err).toMatchObject({ provider: 'aws-kms', keyRef: key.uri, operation: 'unwrap' });
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.message).toContain('InvalidCiphertextException');
  });

  it('refuses a reference of another provider as KMS_MISCONFIGURED', async () => {
    await rejection(
      env.provider.wrap(parseLocalKeyRef('local:k'), randomBytes(32), ctx),
      'KMS_MISCONFIGURED',
    );
  });
});
