process.env.METADATA_SERVER_DETECTION = 'none';

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KmsError, parseLocalKeyRef } from '@byok/kms';
import { crc32cOf, createGcpKmsProvider, parseGcpKeyRef, type GcpKmsClientSlice } from '../src/index.js';
import { startGcpHarness, type GcpHarness } from './gcp-test-harness.js';

const ctx = { tenant: 'tenant-a', purpose: 'tenant-key', version: '1' };
let h: GcpHarness;

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return (err as KmsError).code;
}

beforeAll(async () => {
  h = await startGcpHarness();
});
afterAll(async () => {
  await h.close();
});

describe('gcp-kms adapter against the emulator, SDK on the wire', () => {
  it('reports the CryptoKeyVersion used, and keeps old blobs readable after rotation', async () => {
    const ref = await h.newKey();
    const dk = randomBytes(32);
    const first = await h.provider.wrap(ref, dk, ctx);
    expect(first.keyVersion).toBe(`${ref.cryptoKeyName}/cryptoKeyVersions/1`);
    await h.admin.createCryptoKeyVersion({ parent: ref.cryptoKeyName, cryptoKeyVersion: {} });
    await h.admin.updateCryptoKeyPrimaryVersion({ name: ref.cryptoKeyName, cryptoKeyVersionId: '2' });
    const second = await h.provider.wrap(ref, dk, ctx);
    expect(second.keyVersion).toBe(`${ref.cryptoKeyName}/cryptoKeyVersions/2`);
    expect(Buffer.from((await h.provider.unwrap(ref, first.wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('binds the context regardless of key order (canonical AAD)', async () => {
    const ref = await h.newKey();
    const dk = randomBytes(32);
    const { wrapped } = await h.provider.wrap(ref, dk, { b: '2', a: '1' });
    const { plaintext } = await h.provider.unwrap(ref, wrapped, { a: '1', b: '2' });
    expect(Buffer.from(plaintext).equals(dk)).toBe(true);
  });

  it('revocation by the customer (SDK updateCryptoKeyVersion DISABLED) -> KEY_REVOKED; re-enable restores', async () => {
    const ref = await h.newKey();
    const dk = randomBytes(32);
    const { wrapped } = await h.provider.wrap(ref, dk, ctx);
    await h.setState(ref, 'DISABLED');
    expect(await codeOf(h.provider.unwrap(ref, wrapped, ctx))).toBe('KEY_REVOKED');
    expect(await h.provider.describe(ref)).toEqual({ state: 'disabled', detail: 'DISABLED' });
    await h.setState(ref, 'ENABLED');
    expect(Buffer.from((await h.provider.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    expect((await h.provider.describe(ref)).state).toBe('enabled');
  });

  it('destroy (DESTROY_SCHEDULED) -> KEY_REVOKED and pending-deletion; restore + enable brings it back', async () => {
    const ref = await h.newKey();
    const dk = randomBytes(32);
    const { wrapped } = await h.provider.wrap(ref, dk, ctx);
    const version = `${ref.cryptoKeyName}/cryptoKeyVersions/1`;
    await h.admin.destroyCryptoKeyVersion({ name: version });
    expect(await codeOf(h.provider.unwrap(ref, wrapped, ctx))).toBe('KEY_REVOKED');
    expect(await codeOf(h.provider.wrap(ref, dk, ctx))).toBe('KEY_REVOKED');
    expect((await h.provider.describe(ref)).state).toBe('pending-deletion');
    await h.admin.restoreCryptoKeyVersion({ name: version });
    expect((await h.provider.describe(ref)).state).toBe('disabled');
    await h.setState(ref, 'ENABLED');
    expect(Buffer.from((await h.provider.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('a destroyed version is KEY_REVOKED for good and describes as destroyed', async () => {
    const ref = await h.newKey();
    const { wrapped } = await h.provider.wrap(ref, randomBytes(32), ctx);
    h.emulator.setVersionState(`${ref.cryptoKeyName}/cryptoKeyVersions/1`, 'DESTROYED');
    expect(await codeOf(h.provider.unwrap(ref, wrapped, ctx))).toBe('KEY_REVOKED');
    expect((await h.provider.describe(ref)).state).toBe('destroyed');
  });

  it('describes an explicit version reference by that version, not the primary', async () => {
    const ref = await h.newKey();
    await h.admin.createCryptoKeyVersion({ parent: ref.cryptoKeyName, cryptoKeyVersion: {} });
    await h.setState(ref, 'DISABLED', 2);
    const v2 = parseGcpKeyRef(`${ref.cryptoKeyName}/cryptoKeyVersions/2`);
    expect((await h.provider.describe(v2)).state).toBe('disabled');
    expect((await h.provider.describe(ref)).state).toBe('enabled');
    const missing = parseGcpKeyRef(`${ref.cryptoKeyName}/cryptoKeyVersions/9`);
    expect(await codeOf(h.provider.describe(missing))).toBe('KEY_NOT_FOUND');
  });

  it('detects a corrupted ciphertext checksum in the Encrypt response (retryable KMS_UNAVAILABLE)', async () => {
    const ref = await h.newKey();
    h.emulator.corruptNextResponseChecksum();
    const err = await h.provider.wrap(ref, randomBytes(32), ctx).catch((e: unknown) => e as KmsError);
    expect(err).toBeInstanceOf(KmsError);
    expect((err as KmsError).code).toBe('KMS_UNAVAILABLE');
    expect((err as KmsError).retryable).toBe(true);
    expect((err as KmsError).message).toMatch(/integrity check failed/);
  });

  it('detects a corrupted plaintext checksum in the Decrypt response and returns no plaintext', async () => {
    const ref = await h.newKey();
    const { wrapped } = await h.provider.wrap(ref, randomBytes(32), ctx);
    h.emulator.corruptNextResponseChecksum();
    expect(await codeOf(h.provider.unwrap(ref, wrapped, ctx))).toBe('KMS_UNAVAILABLE');
  });

  it('refuses a wrap whose request checksums KMS did not verify', async () => {
    const ref = await h.newKey();
    h.emulator.corruptNextResponseChecksum('unverified');
    expect(await codeOf(h.provider.wrap(ref, randomBytes(32), ctx))).toBe('KMS_UNAVAILABLE');
  });

  it('refuses a key reference of another provider as KMS_MISCONFIGURED', async () => {
    const local = parseLocalKeyRef('local:dev');
    expect(await codeOf(h.provider.wrap(local, randomBytes(32), ctx))).toBe('KMS_MISCONFIGURED');
  });
});

describe('gcp-kms adapter with an injected client slice', () => {
  const ref = parseGcpKeyRef('projects/p1-test/locations/global/keyRings/r/cryptoKeys/k');

  it('turns gax retries off, passes the deadline and signal, and reads Long-shaped checksums', async () => {
    const seen: unknown[] = [];
    const ciphertext = Buffer.from('opaque-blob');
    const long = (n: number) => ({ low: n | 0, high: 0, toNumber: () => n });
    const fake = {
      encrypt: (req: { plaintextCrc32c?: unknown }, options: unknown) => {
        seen.push(options, req.plaintextCrc32c);
        return Promise.resolve([
          {
            name: `${ref.cryptoKeyName}/cryptoKeyVersions/3`,
            ciphertext,
            ciphertextCrc32c: { value: long(crc32cOf(ciphertext)) },
            verifiedPlaintextCrc32c: true,
            verifiedAdditionalAuthenticatedDataCrc32c: true,
          },
        ]);
      },
    } as unknown as GcpKmsClientSlice;
    const provider = createGcpKmsProvider({ client: fake, timeoutMs: 1234 });
    const signal = new AbortController().signal;
    const dk = Buffer.from('123456789');
    const out = await provider.wrap(ref, dk, ctx, { signal });
    expect(out.keyVersion).toBe(`${ref.cryptoKeyName}/cryptoKeyVersions/3`);
    expect(Buffer.from(out.wrapped).equals(ciphertext)).toBe(true);
    expect(seen[0]).toEqual({ retry: null, timeout: 1234, signal });
    expect(seen[1]).toEqual({ value: 0xe3069283 });
    await provider.close();
  });

  /** A client slice whose encrypt answers as Cloud KMS would, naming `versionName` as the version used. */
  const answeringWith = (versionName: string | undefined) => {
    const ciphertext = Buffer.from('opaque-blob');
    return {
      encrypt: () =>
        Promise.resolve([
          {
            ...(versionName === undefined ? {} : { name: versionName }),
            ciphertext,
            ciphertextCrc32c: { value: crc32cOf(ciphertext) },
            verifiedPlaintextCrc32c: true,
            verifiedAdditionalAuthenticatedDataCrc32c: true,
          },
        ]),
      getCryptoKey: () =>
        Promise.resolve([{ name: ref.cryptoKeyName, primary: { name: versionName, state: 'ENABLED' } }]),
    } as unknown as GcpKmsClientSlice;
  };

  it('refuses a wrap whose response names a version of another key, or none', async () => {
    const other = 'projects/p1-test/locations/global/keyRings/r/cryptoKeys/k2/cryptoKeyVersions/1';
    const prefixOnly = `${ref.cryptoKeyName}2/cryptoKeyVersions/1`;
    for (const name of [other, prefixOnly, `${ref.cryptoKeyName}/cryptoKeyVersions/`, undefined]) {
      const provider = createGcpKmsProvider({ client: answeringWith(name) });
      expect({ name, code: await codeOf(provider.wrap(ref, Buffer.from('dk'), ctx)) }).toEqual({
        name,
        code: 'KMS_MISCONFIGURED',
      });
    }
    const own = createGcpKmsProvider({ client: answeringWith(`${ref.cryptoKeyName}/cryptoKeyVersions/7`) });
    expect((await own.wrap(ref, Buffer.from('dk'), ctx)).keyVersion).toBe(
      `${ref.cryptoKeyName}/cryptoKeyVersions/7`,
    );
  });

  it('refuses key health whose primary version belongs to another key', async () => {
    const other = 'projects/p1-test/locations/global/keyRings/r/cryptoKeys/k2/cryptoKeyVersions/1';
    expect(await codeOf(createGcpKmsProvider({ client: answeringWith(other) }).describe(ref))).toBe(
      'KMS_MISCONFIGURED',
    );
    const own = createGcpKmsProvider({ client: answeringWith(`${ref.cryptoKeyName}/cryptoKeyVersions/1`) });
    expect((await own.describe(ref)).state).toBe('enabled');
  });

  it('settles at once on abort even if the client ignores the signal', async () => {
    const fake = { decrypt: () => new Promise(() => undefined) } as unknown as GcpKmsClientSlice;
    const provider = createGcpKmsProvider({ client: fake });
    const ac = new AbortController();
    const pending = provider.unwrap(ref, Buffer.from('x'), ctx, { signal: ac.signal });
    ac.abort();
    expect(await codeOf(pending)).toBe('KMS_UNAVAILABLE');
  });
});
