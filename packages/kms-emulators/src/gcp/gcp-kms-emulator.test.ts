import { crc32c } from '@aws-crypto/crc32c';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGcpKmsEmulator, type GcpKmsEmulator } from './gcp-kms-emulator.js';

const KEY = 'projects/emu-test/locations/global/keyRings/ring-a/cryptoKeys/key-a';
const OTHER = 'projects/emu-test/locations/global/keyRings/ring-a/cryptoKeys/key-b';
const V1 = `${KEY}/cryptoKeyVersions/1`;
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

// Response bodies are read field by field below; the assertions are the type checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let emu: GcpKmsEmulator;

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = emu.accessToken,
): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${emu.url}${path}`, init);
  return { status: res.status, json: (await res.json()) as Json };
}

const encrypt = (plaintext: string, aad = 'ctx', extra: object = {}) =>
  call('POST', `/v1/${KEY}:encrypt`, {
    plaintext: b64(plaintext),
    additionalAuthenticatedData: b64(aad),
    ...extra,
  });
const decrypt = (ciphertext: string, aad = 'ctx', name = KEY, extra: object = {}) =>
  call('POST', `/v1/${name}:decrypt`, { ciphertext, additionalAuthenticatedData: b64(aad), ...extra });

beforeAll(async () => {
  emu = await startGcpKmsEmulator({ keys: [KEY, OTHER] });
});
afterAll(async () => {
  await emu.close();
});

describe('GCP KMS emulator (REST)', () => {
  it('encrypts with the primary version and decrypts from the ciphertext alone', async () => {
    const enc = await encrypt('secret-1');
    expect(enc.status).toBe(200);
    expect(enc.json['name']).toBe(V1);
    expect(enc.json['ciphertextCrc32c']).toBe(String(crc32c(Buffer.from(enc.json['ciphertext'], 'base64'))));
    const dec = await decrypt(enc.json['ciphertext']);
    expect(dec.status).toBe(200);
    expect(Buffer.from(dec.json['plaintext'], 'base64').toString()).toBe('secret-1');
    expect(dec.json['usedPrimary']).toBe(true);
    expect(dec.json['plaintextCrc32c']).toBe(String(crc32c(Buffer.from('secret-1'))));
  });

  it('verifies request checksums and says so, and rejects a wrong one', async () => {
    const ok = await encrypt('abc', 'ctx', {
      plaintextCrc32c: String(crc32c(Buffer.from('abc'))),
      additionalAuthenticatedDataCrc32c: String(crc32c(Buffer.from('ctx'))),
    });
    expect(ok.json['verifiedPlaintextCrc32c']).toBe(true);
    expect(ok.json['verifiedAdditionalAuthenticatedDataCrc32c']).toBe(true);
    const unverified = await encrypt('abc');
    expect(unverified.json['verifiedPlaintextCrc32c']).toBe(false);
    const bad = await encrypt('abc', 'ctx', { plaintextCrc32c: '1' });
    expect(bad.status).toBe(400);
    expect(bad.json['error']['status']).toBe('INVALID_ARGUMENT');
    expect(bad.json['error']['message']).toMatch(/checksum mismatch/);
    const badCt = await decrypt(ok.json['ciphertext'], 'ctx', KEY, { ciphertextCrc32c: '7' });
    expect(badCt.json['error']['status']).toBe('INVALID_ARGUMENT');
  });

  it('refuses a different AAD, another CryptoKey and a flipped bit as INVALID_ARGUMENT', async () => {
    const { json } = await encrypt('bound', 'ctx-1');
    const wrongAad = await decrypt(json['ciphertext'], 'ctx-2');
    expect(wrongAad.status).toBe(400);
    expect(wrongAad.json['error']).toEqual({
      code: 400,
      message: 'Decryption failed: the ciphertext is invalid.',
      status: 'INVALID_ARGUMENT',
    });
    const otherKey = await decrypt(json['ciphertext'], 'ctx-1', OTHER);
    expect(otherKey.json['error']['status']).toBe('INVALID_ARGUMENT');
    const flipped = Buffer.from(json['ciphertext'], 'base64');
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    expect((await decrypt(flipped.toString('base64'), 'ctx-1')).json['error']['status']).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses a disabled version with FAILED_PRECONDITION and the real message, until re-enabled', async () => {
    const { json } = await encrypt('state');
    const off = await call('PATCH', `/v1/${V1}?updateMask=state`, { state: 2 });
    expect(off.status).toBe(200);
    expect(off.json['state']).toBe('DISABLED');
    const refused = await decrypt(json['ciphertext']);
    expect(refused.status).toBe(400);
    expect(refused.json['error']).toEqual({
      code: 400,
      message: `${V1} is not enabled, current state is: DISABLED.`,
      status: 'FAILED_PRECONDITION',
    });
    expect((await encrypt('x')).json['error']['status']).toBe('FAILED_PRECONDITION');
    await call('PATCH', `/v1/${V1}?updateMask=state`, { state: 'ENABLED' });
    expect((await decrypt(json['ciphertext'])).status).toBe(200);
  });

  it('schedules destruction, refuses use meanwhile, and restores to DISABLED', async () => {
    const key = 'projects/emu-test/locations/global/keyRings/ring-a/cryptoKeys/key-destroy';
    emu.createKey(key);
    const v1 = `${key}/cryptoKeyVersions/1`;
    const enc = await call('POST', `/v1/${key}:encrypt`, { plaintext: b64('d') });
    const destroyed = await call('POST', `/v1/${v1}:destroy`, {});
    expect(destroyed.json['state']).toBe('DESTROY_SCHEDULED');
    expect(destroyed.json['destroyTime']).toBeDefined();
    const refused = await call('POST', `/v1/${key}:decrypt`, { ciphertext: enc.json['ciphertext'] });
    expect(refused.json['error']['message']).toMatch(/current state is: DESTROY_SCHEDULED\.$/);
    const restored = await call('POST', `/v1/${v1}:restore`, {});
    expect(restored.json['state']).toBe('DISABLED');
    await call('PATCH', `/v1/${v1}?updateMask=state`, { state: 'ENABLED' });
    expect((await call('POST', `/v1/${key}:decrypt`, { ciphertext: enc.json['ciphertext'] })).status).toBe(
      200,
    );
  });

  it('rotates: a new version becomes primary and old ciphertexts still decrypt', async () => {
    const key = 'projects/emu-test/locations/global/keyRings/ring-a/cryptoKeys/key-rotate';
    emu.createKey(key);
    const old = await call('POST', `/v1/${key}:encrypt`, { plaintext: b64('old') });
    const v2 = await call('POST', `/v1/${key}/cryptoKeyVersions`, {});
    expect(v2.json['name']).toBe(`${key}/cryptoKeyVersions/2`);
    const primary = await call('POST', `/v1/${key}:updatePrimaryVersion`, { cryptoKeyVersionId: '2' });
    expect(primary.json['primary']['name']).toBe(`${key}/cryptoKeyVersions/2`);
    expect((await call('POST', `/v1/${key}:encrypt`, { plaintext: b64('new') })).json['name']).toBe(
      `${key}/cryptoKeyVersions/2`,
    );
    const dec = await call('POST', `/v1/${key}:decrypt`, { ciphertext: old.json['ciphertext'] });
    expect(dec.json['usedPrimary']).toBe(false);
  });

  it('creates key rings and keys through the API and reports duplicates and unknown parents', async () => {
    const ring = await call('POST', '/v1/projects/emu-test/locations/global/keyRings?keyRingId=ring-api', '');
    expect(ring.json['name']).toBe('projects/emu-test/locations/global/keyRings/ring-api');
    const again = await call(
      'POST',
      '/v1/projects/emu-test/locations/global/keyRings?keyRingId=ring-api',
      {},
    );
    expect(again.status).toBe(409);
    const key = await call(
      'POST',
      '/v1/projects/emu-test/locations/global/keyRings/ring-api/cryptoKeys?cryptoKeyId=k1&$alt=json%3Benum-encoding=int',
      { purpose: 1 },
    );
    expect(key.json['primary']['state']).toBe(1);
    const orphan = await call(
      'POST',
      '/v1/projects/emu-test/locations/global/keyRings/nope/cryptoKeys?cryptoKeyId=k',
      {
        purpose: 1,
      },
    );
    expect(orphan.status).toBe(404);
    const signing = await call(
      'POST',
      '/v1/projects/emu-test/locations/global/keyRings/ring-api/cryptoKeys?cryptoKeyId=k2',
      {
        purpose: 'ASYMMETRIC_SIGN',
      },
    );
    expect(signing.json['error']['status']).toBe('INVALID_ARGUMENT');
  });

  it('answers unknown keys with NOT_FOUND (404)', async () => {
    const res = await call(
      'POST',
      '/v1/projects/emu-test/locations/global/keyRings/ring-a/cryptoKeys/ghost:encrypt',
      {
        plaintext: b64('x'),
      },
    );
    expect(res.status).toBe(404);
    expect(res.json['error']['status']).toBe('NOT_FOUND');
  });

  it('answers a missing or unknown bearer token with UNAUTHENTICATED (401)', async () => {
    expect((await call('GET', `/v1/${KEY}`, undefined, null)).status).toBe(401);
    const wrong = await call('GET', `/v1/${KEY}`, undefined, 'not-a-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json['error']['status']).toBe('UNAUTHENTICATED');
  });

  it('denies data-plane calls after the IAM binding is removed, but not admin calls', async () => {
    emu.setDenied(KEY, true);
    try {
      const res = await encrypt('x');
      expect(res.status).toBe(403);
      expect(res.json['error']['status']).toBe('PERMISSION_DENIED');
      expect((await call('GET', `/v1/${KEY}`)).status).toBe(403);
      expect((await call('GET', `/v1/${V1}`)).status).toBe(403);
      expect((await call('PATCH', `/v1/${V1}?updateMask=state`, { state: 'ENABLED' })).status).toBe(200);
    } finally {
      emu.setDenied(KEY, false);
    }
    expect((await encrypt('x')).status).toBe(200);
  });

  it('throttles and fails the next calls on request, and counts every call', async () => {
    emu.resetCallCounts();
    emu.throttleNext(2);
    emu.failNext(1, 'UNAVAILABLE');
    expect((await encrypt('x')).status).toBe(429);
    expect((await encrypt('x')).json['error']['status']).toBe('RESOURCE_EXHAUSTED');
    expect((await encrypt('x')).status).toBe(503);
    expect((await encrypt('x')).status).toBe(200);
    expect(emu.callCount('Encrypt')).toBe(4);
    expect(emu.callCount('Decrypt')).toBe(0);
    expect(emu.callCount()).toBe(4);
  });

  it('corrupts the next response checksum once', async () => {
    emu.corruptNextResponseChecksum();
    const bad = await encrypt('x');
    const ct = Buffer.from(bad.json['ciphertext'], 'base64');
    expect(bad.json['ciphertextCrc32c']).not.toBe(String(crc32c(ct)));
    const good = await encrypt('x');
    expect(good.json['ciphertextCrc32c']).toBe(
      String(crc32c(Buffer.from(good.json['ciphertext'], 'base64'))),
    );
  });

  it('hangs calls while told to, and drops them on close', async () => {
    const own = await startGcpKmsEmulator({ keys: [KEY] });
    own.setHang(true);
    const ac = new AbortController();
    const pending = fetch(`${own.url}/v1/${KEY}`, {
      headers: { authorization: `Bearer ${own.accessToken}` },
      signal: ac.signal,
    }).then(
      () => 'answered',
      () => 'failed',
    );
    const raced = await Promise.race([
      pending,
      new Promise((r) => setTimeout(() => r('still hanging'), 100)),
    ]);
    expect(raced).toBe('still hanging');
    await own.close();
    expect(await pending).toBe('failed');
  });

  it('serves the control routes over HTTP', async () => {
    const key = 'projects/emu-test/locations/global/keyRings/ring-http/cryptoKeys/k';
    const created = await call('POST', '/__emulator/keys', { name: key });
    expect(created.json).toEqual({ name: key, primaryVersion: `${key}/cryptoKeyVersions/1` });
    await call('POST', '/__emulator/throttle', { n: 1 });
    expect((await call('GET', `/v1/${key}`)).status).toBe(429);
    const calls = await call('GET', '/__emulator/calls?op=GetCryptoKey');
    expect(calls.json['count']).toBeGreaterThanOrEqual(1);
    expect((await call('POST', '/__emulator/nope', {})).status).toBe(404);
  });

  it('rejects malformed requests with INVALID_ARGUMENT', async () => {
    expect((await call('POST', `/v1/${KEY}:encrypt`, {})).json['error']['status']).toBe('INVALID_ARGUMENT');
    expect((await call('POST', `/v1/${KEY}:encrypt`, { plaintext: '***' })).status).toBe(400);
    expect(
      (await call('POST', `/v1/${KEY}:encrypt`, { plaintext: b64('x'), plaintextCrc32c: 'abc' })).status,
    ).toBe(400);
    expect((await call('PATCH', `/v1/${V1}?updateMask=labels`, { state: 1 })).status).toBe(400);
    expect((await call('POST', `/v1/${KEY}:frobnicate`, {})).status).toBe(404);
  });
});
