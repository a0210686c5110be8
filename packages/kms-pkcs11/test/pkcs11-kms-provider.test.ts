import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { KmsError, type KeyRef, type KmsErrorCode } from '@byok/kms';
import {
  createPkcs11KmsProvider,
  decodePkcs11Blob,
  pkcs11Module,
  type Pkcs11KmsProvider,
} from '../src/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../src/testing/index.js';
import { describeWithSoftHsm } from './softhsm-suite.js';

const ctx = { tenant: 'acme', purpose: 'tenant-key', version: '1' };

async function failure(p: Promise<unknown>): Promise<KmsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return err as KmsError;
}

async function code(p: Promise<unknown>): Promise<KmsErrorCode> {
  return (await failure(p)).code;
}

describeWithSoftHsm('pkcs11 provider on SoftHSMv2', () => {
  let token: SoftHsmToken;
  let provider: Pkcs11KmsProvider;
  let pin: string;
  let key: KeyRef;

  beforeAll(async () => {
    token = await createSoftHsmToken();
    key = await token.createKey('acme-cmk');
    const { readFile } = await import('node:fs/promises');
    pin = (await readFile(token.pinFile, 'utf8')).trim();
    provider = createPkcs11KmsProvider({ modulePath: token.modulePath, pin, sessionsPerToken: 2 });
  });
  afterAll(async () => {
    await provider?.close();
    await token?.destroy();
  });

  it('writes blob v1: version byte, 96-bit IV, data key sealed with a 128-bit tag', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await provider.wrap(key, dk, ctx);
    expect(wrapped.length).toBe(1 + 12 + 32 + 16);
    expect(wrapped[0]).toBe(0x01);
    expect(Buffer.from(wrapped).includes(dk)).toBe(false);
  });

  it('binds the context by value, whatever the key order', async () => {
    const dk = randomBytes(32);
    const { wrapped } = await provider.wrap(key, dk, { version: '1', purpose: 'tenant-key', tenant: 'acme' });
    expect(Buffer.from((await provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    expect(await code(provider.unwrap(key, wrapped, {}))).toBe('INVALID_CIPHERTEXT');
  });

  it('wraps data keys of 1 to 64 bytes and refuses others before reaching the HSM', async () => {
    for (const n of [1, 16, 64]) {
      const dk = randomBytes(n);
      const { wrapped } = await provider.wrap(key, dk, ctx);
      expect(Buffer.from((await provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    }
    expect(await code(provider.wrap(key, new Uint8Array(0), ctx))).toBe('KMS_MISCONFIGURED');
    expect(await code(provider.wrap(key, randomBytes(65), ctx))).toBe('KMS_MISCONFIGURED');
  });

  it('refuses truncated, empty and other-version blobs as INVALID_CIPHERTEXT', async () => {
    const { wrapped } = await provider.wrap(key, randomBytes(32), ctx);
    const otherVersion = Buffer.from(wrapped);
    otherVersion[0] = 0x02;
    expect(await code(provider.unwrap(key, wrapped.subarray(0, 20), ctx))).toBe('INVALID_CIPHERTEXT');
    expect(await code(provider.unwrap(key, new Uint8Array(0), ctx))).toBe('INVALID_CIPHERTEXT');
    expect(await code(provider.unwrap(key, otherVersion, ctx))).toBe('INVALID_CIPHERTEXT');
    const flippedIv = Buffer.from(wrapped);
    flippedIv[3] = (flippedIv[3] ?? 0) ^ 1;
    expect(await code(provider.unwrap(key, flippedIv, ctx))).toBe('INVALID_CIPHERTEXT');
  });

  it('reports key health from CKA_ENCRYPT and CKA_DECRYPT', async () => {
    const ref = await token.createKey('health-cmk');
    expect(await provider.describe(ref)).toEqual({
      state: 'enabled',
      detail: 'CKA_ENCRYPT=true CKA_DECRYPT=true',
    });
    await token.disable(ref);
    expect(await provider.describe(ref)).toMatchObject({ state: 'disabled' });
    await token.enable(ref);
    expect(await provider.describe(ref)).toMatchObject({ state: 'enabled' });
  });

  it('answers KEY_NOT_FOUND for a destroyed key, in describe, wrap and unwrap', async () => {
    const ref = await token.createKey('shredded-cmk');
    const { wrapped } = await provider.wrap(ref, randomBytes(32), ctx);
    await token.destroyKey(ref);
    expect(await code(provider.describe(ref))).toBe('KEY_NOT_FOUND');
    expect(await code(provider.wrap(ref, randomBytes(32), ctx))).toBe('KEY_NOT_FOUND');
    expect(await code(provider.unwrap(ref, wrapped, ctx))).toBe('KEY_NOT_FOUND');
  });

  it('refuses keys that could leave the HSM or are not AES-256', async () => {
    const extractable = await token.createKey('extractable-cmk', { extractable: true });
    const aes128 = await token.createKey('aes128-cmk', { bytes: 16 });
    const err = await failure(provider.wrap(extractable, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_MISCONFIGURED');
    expect(err.message).toMatch(/CKA_EXTRACTABLE=false/);
    expect(await code(provider.wrap(aes128, randomBytes(32), ctx))).toBe('KMS_MISCONFIGURED');
    expect(await code(provider.describe(extractable))).toBe('KMS_MISCONFIGURED');
  });

  it('runs many operations at once over two sessions without them colliding', async () => {
    const keys = Array.from({ length: 48 }, () => randomBytes(32));
    const results = await Promise.all(
      keys.map(async (dk, i) => {
        const c = { ...ctx, item: String(i) };
        const { wrapped } = await provider.wrap(key, dk, c);
        return Buffer.from((await provider.unwrap(key, wrapped, c)).plaintext).equals(dk);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
  });

  it('answers an aborted call with KMS_UNAVAILABLE at once and keeps serving', async () => {
    const err = await failure(provider.wrap(key, randomBytes(32), ctx, { signal: AbortSignal.abort() }));
    expect(err.code).toBe('KMS_UNAVAILABLE');
    const dk = randomBytes(32);
    const { wrapped } = await provider.wrap(key, dk, ctx);
    expect(Buffer.from((await provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('refuses a reference of another provider and a token it cannot see', async () => {
    const local: KeyRef = { provider: 'local', uri: 'local:k' };
    expect(await code(provider.wrap(local, randomBytes(32), ctx))).toBe('KMS_MISCONFIGURED');
    const missingToken = pkcs11Module.parseKeyRef('pkcs11:token=no-such-token;object=acme-cmk');
    const err = await failure(provider.wrap(missingToken, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_ACCESS_DENIED');
    expect(err.message).toContain('no-such-token');
  });

  it('fails to load a module that is not there with KMS_MISCONFIGURED', () => {
    expect(() => createPkcs11KmsProvider({ modulePath: '/nonexistent/libpkcs11.so', pin: '1234' })).toThrow(
      expect.objectContaining({ code: 'KMS_MISCONFIGURED' }),
    );
  });

  it('keeps the blob format stable across calls (decodable, random IV each time)', async () => {
    const a = decodePkcs11Blob((await provider.wrap(key, randomBytes(32), ctx)).wrapped);
    const b = decodePkcs11Blob((await provider.wrap(key, randomBytes(32), ctx)).wrapped);
    expect(a && b && !a.iv.equals(b.iv)).toBe(true);
  });
});

describeWithSoftHsm('pkcs11 provider login and lifecycle on SoftHSMv2', () => {
  let token: SoftHsmToken;
  let key: KeyRef;
  let pin: string;

  beforeAll(async () => {
    token = await createSoftHsmToken();
    key = await token.createKey('login-cmk');
    const { readFile } = await import('node:fs/promises');
    pin = (await readFile(token.pinFile, 'utf8')).trim();
  });
  afterAll(async () => {
    await token?.destroy();
  });

  it('reports a wrong PIN as KMS_ACCESS_DENIED without the PIN in the error, and does not try it again', async () => {
    const wrongPin = `${pin}9`;
    const bad = createPkcs11KmsProvider({ modulePath: token.modulePath, pin: wrongPin });
    try {
      const err = await failure(bad.wrap(key, randomBytes(32), ctx));
      expect(err.code).toBe('KMS_ACCESS_DENIED');
      expect(err.message).toMatch(/CKR_PIN_INCORRECT/);
      const text = `${err.message} ${JSON.stringify(err)} ${String(err.stack)} ${String(err.cause)}`;
      expect(text).not.toContain(pin);
      const again = await failure(bad.unwrap(key, Buffer.alloc(61, 1), ctx));
      expect(again.code).toBe('KMS_ACCESS_DENIED');
      expect(again.message).toMatch(/refused the PIN earlier \(CKR_PIN_INCORRECT\); not tried again/);
    } finally {
      await bad.close();
    }
  });

  it('closes: later calls fail with KMS_UNAVAILABLE, a second close is harmless, a new provider works', async () => {
    const p = createPkcs11KmsProvider({ modulePath: token.modulePath, pin });
    await p.wrap(key, randomBytes(32), ctx);
    await p.close();
    await p.close();
    expect(await code(p.wrap(key, randomBytes(32), ctx))).toBe('KMS_UNAVAILABLE');
    const again = createPkcs11KmsProvider({ modulePath: token.modulePath, pin });
    try {
      const dk = randomBytes(32);
      const { wrapped } = await again.wrap(key, dk, ctx);
      expect(Buffer.from((await again.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    } finally {
      await again.close();
    }
  });
});
