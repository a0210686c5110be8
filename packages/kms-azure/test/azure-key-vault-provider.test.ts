import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KmsError, withResilience } from '@byok/kms';
import { createAzureKeyVaultProvider, decodeAzureBlob, encodeAzureBlob } from '../src/index.js';
import { startAzureTestBed, uniqueName, type AzureTestBed } from './azure-test-harness.js';

const ctx = { tenant: 't-1', purpose: 'tenant-key', version: '1' };

async function failure(p: Promise<unknown>): Promise<KmsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return err as KmsError;
}

function expectNoSecret(err: KmsError, secret: Uint8Array | string): void {
  const text = `${err.message} ${JSON.stringify(err)} ${String(err.stack)} ${String(err.cause)} ${JSON.stringify(err.cause)}`;
  const needles =
    typeof secret === 'string'
      ? [secret]
      : [
          Buffer.from(secret).toString('hex'),
          Buffer.from(secret).toString('base64'),
          Buffer.from(secret).toString('base64url'),
        ];
  for (const n of needles) expect(text.includes(n)).toBe(false);
}

describe('azure-kv provider against the emulator', () => {
  let bed: AzureTestBed;
  beforeAll(async () => {
    bed = await startAzureTestBed();
  });
  afterAll(async () => {
    await bed.close();
  });

  it('answers the bodiless first request with a 401 challenge, then gets a token and retries', async () => {
    const name = uniqueName('challenge');
    bed.emu.createKey({ name, kty: 'RSA' });
    await bed.provider.wrap(bed.ref(name), randomBytes(32), ctx);
    const log = bed.emu.requests();
    const firstKeyCall = log.findIndex((r) => r.path.startsWith('/keys/'));
    expect(log[firstKeyCall]).toMatchObject({
      op: 'challenge',
      status: 401,
      hadAuthorization: false,
      bodyBytes: 0,
    });
    const token = log.findIndex((r) => r.op === 'token' && r.status === 200);
    expect(token).toBeGreaterThan(firstKeyCall);
    const authed = log.findIndex(
      (r, i) => i > token && r.path.startsWith('/keys/') && r.hadAuthorization && r.status === 200,
    );
    expect(authed).toBeGreaterThan(token);
  });

  it('wraps on the server with RSA-OAEP-256 (no local RSA wrapping by the SDK)', async () => {
    const name = uniqueName('remote');
    bed.emu.createKey({ name, kty: 'RSA' });
    const before = bed.emu.callCount('wrapKey');
    for (let i = 0; i < 3; i++) await bed.provider.wrap(bed.ref(name), randomBytes(32), ctx);
    expect(bed.emu.callCount('wrapKey') - before).toBe(3);
  });

  it('records the exact key version used and unwraps with it after the key rotates', async () => {
    const name = uniqueName('rotate');
    const v1 = bed.emu.createKey({ name, kty: 'RSA' });
    const dk = randomBytes(32);
    const first = await bed.provider.wrap(bed.ref(name), dk, ctx);
    expect(first.keyVersion).toBe(v1.kid);
    expect(decodeAzureBlob(first.wrapped)?.kid).toBe(v1.kid);
    expect(first.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const v2 = bed.emu.createKey({ name, kty: 'RSA' });
    const second = await bed.provider.wrap(bed.ref(name), randomBytes(32), ctx);
    expect(second.keyVersion).toBe(v2.kid);
    const { plaintext } = await bed.provider.unwrap(bed.ref(name), first.wrapped, ctx);
    expect(Buffer.from(plaintext).equals(dk)).toBe(true);
  });

  it("unwraps with the algorithm of the blob's key version, not of the key's current version", async () => {
    const name = uniqueName('kty-rotate');
    bed.emu.createKey({ name, kty: 'RSA' });
    const dk1 = randomBytes(32);
    const rsaBlob = await bed.provider.wrap(bed.ref(name), dk1, ctx);
    // The customer rotates to a new version of another type: RSA-OAEP-256 -> A256KW.
    bed.emu.createKey({ name, kty: 'oct-HSM' });
    const fresh = createAzureKeyVaultProvider({
      credential: bed.credential,
      tlsCa: bed.emu.caPem,
      disableChallengeResourceVerification: true,
    });
    const dk2 = randomBytes(32);
    const octBlob = await fresh.wrap(bed.ref(name), dk2, ctx);
    expect(decodeAzureBlob(octBlob.wrapped)?.kid).not.toBe(decodeAzureBlob(rsaBlob.wrapped)?.kid);
    // Each provider opens the blob of the version type it has not used yet.
    expect(Buffer.from((await fresh.unwrap(bed.ref(name), rsaBlob.wrapped, ctx)).plaintext).equals(dk1)).toBe(
      true,
    );
    expect(
      Buffer.from((await bed.provider.unwrap(bed.ref(name), octBlob.wrapped, ctx)).plaintext).equals(dk2),
    ).toBe(true);
  });

  it('refuses a blob whose key id names another version than a versioned reference', async () => {
    const name = uniqueName('pinned');
    const v1 = bed.emu.createKey({ name, kty: 'RSA' });
    const v2 = bed.emu.createKey({ name, kty: 'RSA' });
    const { wrapped } = await bed.provider.wrap(bed.ref(name, v1.version), randomBytes(32), ctx);
    const err = await failure(bed.provider.unwrap(bed.ref(name, v2.version), wrapped, ctx));
    expect(err.code).toBe('INVALID_CIPHERTEXT');
  });

  it('refuses a blob that names the same key on another vault host', async () => {
    const name = uniqueName('host');
    bed.emu.createKey({ name, kty: 'RSA' });
    const { wrapped } = await bed.provider.wrap(bed.ref(name), randomBytes(32), ctx);
    const blob = decodeAzureBlob(wrapped);
    const moved = encodeAzureBlob(
      blob?.kid.replace('127.0.0.1', 'localhost') ?? '',
      blob?.wrapped ?? Buffer.alloc(0),
    );
    const err = await failure(bed.provider.unwrap(bed.ref(name), moved, ctx));
    expect(err.code).toBe('INVALID_CIPHERTEXT');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['unknown version byte', Buffer.from([0x02, 0, 1, 0x41, 0x42])],
    ['kid length past the end', Buffer.from([0x01, 0xff, 0xff, 0x41])],
    ['no wrapped bytes after the kid', Buffer.concat([Buffer.from([0x01, 0, 3]), Buffer.from('abc')])],
  ])('rejects a malformed blob (%s) as INVALID_CIPHERTEXT without calling Key Vault', async (_why, blob) => {
    const name = uniqueName('malformed');
    bed.emu.createKey({ name, kty: 'RSA' });
    const before = bed.emu.callCount('unwrapKey');
    const err = await failure(bed.provider.unwrap(bed.ref(name), blob, ctx));
    expect(err.code).toBe('INVALID_CIPHERTEXT');
    expect(bed.emu.callCount('unwrapKey')).toBe(before);
  });

  it.each([16, 31, 33, 64])('rejects a data key that is not 32 bytes (%i bytes)', async (size) => {
    const name = uniqueName('size');
    bed.emu.createKey({ name, kty: 'RSA' });
    const dk = randomBytes(size);
    const err = await failure(bed.provider.wrap(bed.ref(name), dk, ctx));
    expect(err.code).toBe('KMS_MISCONFIGURED');
    expect(err.message).toContain('32-byte');
    expectNoSecret(err, dk);
  });

  it('maps RBAC denial to KMS_ACCESS_DENIED on wrap, unwrap and describe, with the request id', async () => {
    const name = uniqueName('rbac');
    bed.emu.createKey({ name, kty: 'RSA' });
    const dk = randomBytes(32);
    const { wrapped } = await bed.provider.wrap(bed.ref(name), dk, ctx);
    bed.emu.setDenied(name, true);
    try {
      const w = await failure(bed.provider.wrap(bed.ref(name), dk, ctx));
      expect(w.code).toBe('KMS_ACCESS_DENIED');
      expect(w.message).toContain('ForbiddenByRbac');
      expect(w.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expectNoSecret(w, dk);
      const u = await failure(bed.provider.unwrap(bed.ref(name), wrapped, ctx));
      expect(u.code).toBe('KMS_ACCESS_DENIED');
      expectNoSecret(u, dk);
      expect((await failure(bed.provider.describe(bed.ref(name)))).code).toBe('KMS_ACCESS_DENIED');
    } finally {
      bed.emu.setDenied(name, false);
    }
    const { plaintext } = await bed.provider.unwrap(bed.ref(name), wrapped, ctx);
    expect(Buffer.from(plaintext).equals(dk)).toBe(true);
  });

  it('retries 429 with backoff honouring Retry-After, then succeeds', async () => {
    const name = uniqueName('throttle');
    bed.emu.createKey({ name, kty: 'RSA' });
    // The backoff alone would wait about 1 ms; only the server's Retry-After (1 s) makes it wait longer.
    const resilient = withResilience(bed.provider, { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5000 });
    await resilient.wrap(bed.ref(name), randomBytes(32), ctx); // warm the key-type cache and token
    const before = bed.emu.callCount('wrapKey');
    bed.emu.throttleNext(2, 1);
    const start = performance.now();
    await resilient.wrap(bed.ref(name), randomBytes(32), ctx);
    const waited = performance.now() - start;
    expect(bed.emu.callCount('wrapKey') - before).toBe(3);
    // Two throttled answers, each with Retry-After: 1 -> at least 2 s of waiting (50 ms for timer slack).
    expect(waited).toBeGreaterThanOrEqual(2 * 1000 - 50);
  });

  it('reports KMS_THROTTLED with retryAfterSeconds once the attempts are used up', async () => {
    const name = uniqueName('throttled');
    bed.emu.createKey({ name, kty: 'RSA' });
    await bed.provider.wrap(bed.ref(name), randomBytes(32), ctx);
    const resilient = withResilience(bed.provider, { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 });
    const before = bed.emu.callCount('wrapKey');
    bed.emu.throttleNext(5, 7);
    try {
      const err = await failure(resilient.wrap(bed.ref(name), randomBytes(32), ctx));
      expect(err.code).toBe('KMS_THROTTLED');
      expect(err.retryAfterSeconds).toBe(7);
      expect(err.retryable).toBe(true);
      expect(bed.emu.callCount('wrapKey') - before).toBe(2);
    } finally {
      bed.emu.resetFaults();
    }
  });

  it('turns a hung call into KMS_UNAVAILABLE at the deadline', async () => {
    const name = uniqueName('hang');
    bed.emu.createKey({ name, kty: 'RSA' });
    const dk = randomBytes(32);
    const { wrapped } = await bed.provider.wrap(bed.ref(name), dk, ctx);
    bed.emu.setHang(true);
    try {
      const resilient = withResilience(bed.provider, { timeoutMs: 300 });
      const viaResilience = await failure(resilient.unwrap(bed.ref(name), wrapped, ctx));
      expect(viaResilience.code).toBe('KMS_UNAVAILABLE');
      const direct = await failure(bed.provider.unwrap(bed.ref(name), wrapped, ctx, { timeoutMs: 300 }));
      expect(direct.code).toBe('KMS_UNAVAILABLE');
      expectNoSecret(direct, dk);
    } finally {
      bed.emu.setHang(false);
    }
  });

  it('describes key health through getKey: enabled, disabled, then deleted', async () => {
    const name = uniqueName('health');
    bed.emu.createKey({ name, kty: 'RSA' });
    const ref = bed.ref(name);
    expect(await bed.provider.describe(ref)).toMatchObject({ state: 'enabled' });
    await bed.disable(ref);
    expect(await bed.provider.describe(ref)).toMatchObject({ state: 'disabled', detail: 'Disabled' });
    await bed.enable(ref);
    const poller = await bed.keyClient.beginDeleteKey(name, { intervalInMs: 10 });
    await poller.pollUntilDone();
    const err = await failure(bed.provider.describe(ref));
    expect(err.code).toBe('KEY_NOT_FOUND');
    const wrapErr = await failure(bed.provider.wrap(ref, randomBytes(32), ctx));
    expect(wrapErr.code).toBe('KEY_NOT_FOUND');
  });

  it('refuses a key reference of another provider', async () => {
    const local = { provider: 'local', uri: 'local:x', name: 'x' } as const;
    const err = await failure(bed.provider.wrap(local, randomBytes(32), ctx));
    expect(err.code).toBe('KMS_MISCONFIGURED');
  });
});

describe('azure-kv provider with a wrong client secret', () => {
  let bed: AzureTestBed;
  const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
  beforeAll(async () => {
    bed = await startAzureTestBed({}, wrongSecret);
  });
  afterAll(async () => {
    await bed.close();
  });

  it('fails with a clear KMS_MISCONFIGURED error naming invalid_client, without the secret', async () => {
    const name = uniqueName('secret');
    bed.emu.createKey({ name, kty: 'RSA' });
    const dk = randomBytes(32);
    const err = await failure(bed.provider.wrap(bed.ref(name), dk, ctx));
    expect(err.code).toBe('KMS_MISCONFIGURED');
    expect(err.message).toContain('invalid_client');
    expect(err.message).toContain('AADSTS7000215');
    expectNoSecret(err, wrongSecret);
    expectNoSecret(err, dk);
    expect(bed.emu.callCount('wrapKey')).toBe(0);
  });
});
