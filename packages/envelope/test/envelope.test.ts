import { createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  generateTenantKey,
  InvalidArgumentError,
  InvalidCiphertextError,
  InvalidContextError,
  InvalidKeyError,
  readHeader,
  TENANT_KEY_BYTES,
  zeroize,
} from '../src/index.js';
import { backends } from './backends.js';
import { hkdfSha256x64 } from '../src/hkdf.js';
import { canonicalAad } from '../src/format-v1.js';

const tk = generateTenantKey();
const params = { tenantId: 'tenant-a', tkVersion: 7, context: { record: 'r1', purpose: 'billing' } };
const plaintext = Buffer.from('hello, tenant');

describe.each(backends)('seal / open, $name backend', ({ seal, open }) => {
  it('round-trips and lays out the v1 format', () => {
    const ct = seal(tk, plaintext, params);
    expect(ct).toHaveLength(1 + 1 + 4 + 32 + 12 + 32 + plaintext.length + 16);
    expect(ct[0]).toBe(0x01);
    // New seals use algorithm 2 (one HMAC-SHA-512 expand); algorithm 1 stays readable.
    expect(ct[1]).toBe(0x02);
    expect(ct.readUInt32BE(2)).toBe(7);
    expect(open(tk, ct, params)).toEqual(plaintext);
  });

  it('algorithm 2 is what the format says: key | commitment = HMAC-SHA-512(TK, salt | AAD | 0x01)', () => {
    const ct = seal(tk, plaintext, params);
    const aad = canonicalAad(ct.subarray(0, 50), params.tenantId, '{"purpose":"billing","record":"r1"}');
    const okm = createHmac('sha512', tk).update(ct.subarray(6, 38)).update(aad).update(Buffer.of(1)).digest();
    expect(ct.subarray(50, 82).equals(okm.subarray(32))).toBe(true);
    const gcm = createDecipheriv('aes-256-gcm', okm.subarray(0, 32), ct.subarray(38, 50), {
      authTagLength: 16,
    });
    gcm.setAAD(aad);
    gcm.setAuthTag(ct.subarray(-16));
    expect(Buffer.concat([gcm.update(ct.subarray(82, -16)), gcm.final()])).toEqual(plaintext);
  });

  it('uses a fresh salt and IV for every ciphertext, across random-pool refills', () => {
    const salts = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const ct = seal(tk, plaintext, params);
      salts.add(ct.subarray(6, 38).toString('hex'));
      ivs.add(ct.subarray(38, 50).toString('hex'));
    }
    expect(salts.size).toBe(300);
    expect(ivs.size).toBe(300);
  });

  it('treats a missing context as the empty context', () => {
    const ct = seal(tk, plaintext, { tenantId: 't', tkVersion: 1 });
    expect(open(tk, ct, { tenantId: 't', context: {} })).toEqual(plaintext);
  });

  it('ignores context key order', () => {
    const ct = seal(tk, plaintext, params);
    expect(open(tk, ct, { tenantId: 'tenant-a', context: { purpose: 'billing', record: 'r1' } })).toEqual(
      plaintext,
    );
  });

  it('encrypts empty and large (multi-slice) plaintexts', () => {
    for (const size of [0, 1, 65535, 65536, 65537, 300_000]) {
      const pt = randomBytes(size);
      const ct = seal(tk, pt, params);
      expect(ct).toHaveLength(98 + size);
      expect(open(tk, ct, params).equals(pt)).toBe(true);
    }
  });

  it('accepts a plain Uint8Array view into a larger buffer', () => {
    const backing = new Uint8Array(100);
    backing.set(plaintext, 10);
    const view = backing.subarray(10, 10 + plaintext.length);
    const ct = seal(new Uint8Array(tk), view, params);
    const framed = new Uint8Array(ct.length + 5);
    framed.set(ct, 3);
    expect(open(new Uint8Array(tk), framed.subarray(3, 3 + ct.length), params)).toEqual(plaintext);
  });

  it('rejects a tenant key that is not 32 bytes', () => {
    for (const len of [0, 16, 31, 33, 64]) {
      expect(() => seal(randomBytes(len), plaintext, params)).toThrow(InvalidKeyError);
      expect(() => open(randomBytes(len), seal(tk, plaintext, params), params)).toThrow(InvalidKeyError);
    }
  });

  it('rejects a tenant key version that is not an unsigned 32-bit integer', () => {
    for (const tkVersion of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => seal(tk, plaintext, { ...params, tkVersion })).toThrow(InvalidArgumentError);
    }
    expect(readHeader(seal(tk, plaintext, { ...params, tkVersion: 2 ** 32 - 1 })).tkVersion).toBe(
      2 ** 32 - 1,
    );
  });

  it('rejects an empty, malformed or over-long tenant id', () => {
    for (const tenantId of ['', '\uD800', 'x'.repeat(257)]) {
      expect(() => seal(tk, plaintext, { ...params, tenantId })).toThrow(InvalidArgumentError);
      expect(() => open(tk, seal(tk, plaintext, params), { ...params, tenantId })).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('rejects a bad context at encrypt time with InvalidContextError', () => {
    const context = { a: 1 } as unknown as Record<string, string>;
    expect(() => seal(tk, plaintext, { ...params, context })).toThrow(InvalidContextError);
  });

  it('rejects a wrong tenant, context or key with InvalidCiphertextError', () => {
    const ct = seal(tk, plaintext, params);
    expect(() => open(tk, ct, { ...params, tenantId: 'tenant-b' })).toThrow(InvalidCiphertextError);
    expect(() => open(tk, ct, { ...params, context: { record: 'r2', purpose: 'billing' } })).toThrow(
      InvalidCiphertextError,
    );
    expect(() => open(tk, ct, { tenantId: params.tenantId })).toThrow(InvalidCiphertextError);
    expect(() => open(generateTenantKey(), ct, params)).toThrow(InvalidCiphertextError);
  });

  it('rejects a non-byte ciphertext, an unknown version or algorithm with InvalidCiphertextError', () => {
    const ct = seal(tk, plaintext, params);
    for (const [at, value] of [
      [0, 0x00],
      [0, 0x02],
      [1, 0x00],
      [1, 0x03],
    ] as const) {
      const bad = Buffer.from(ct);
      bad[at] = value;
      expect(() => open(tk, bad, params)).toThrow(InvalidCiphertextError);
      expect(() => readHeader(bad)).toThrow(InvalidCiphertextError);
    }
    expect(() => open(tk, 'abc' as unknown as Uint8Array, params)).toThrow(InvalidCiphertextError);
    expect(() => readHeader(undefined as unknown as Uint8Array)).toThrow(InvalidCiphertextError);
  });

  it('refuses a ciphertext relabelled from algorithm 2 to 1: the alg byte is bound in the AAD', () => {
    const bad = seal(tk, plaintext, params);
    bad[1] = 0x01;
    expect(readHeader(bad).alg).toBe(1);
    expect(() => open(tk, bad, params)).toThrow(InvalidCiphertextError);
  });

  it('rejects a changed commitment before decrypting', () => {
    const ct = seal(tk, plaintext, params);
    ct[60] = (ct[60] as number) ^ 0x01;
    expect(() => open(tk, ct, params)).toThrow(InvalidCiphertextError);
  });

  it('has the stable code INVALID_CIPHERTEXT and a message without key or plaintext', () => {
    try {
      open(tk, Buffer.alloc(10), params);
      throw new Error('open did not throw');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidCiphertextError);
      expect((err as InvalidCiphertextError).code).toBe('INVALID_CIPHERTEXT');
      expect((err as Error).message).not.toContain(tk.toString('hex'));
    }
  });
});

describe.each(backends)('readHeader, $name backend', ({ seal }) => {
  it('returns version, algorithm and tenant key version', () => {
    expect(readHeader(seal(tk, plaintext, { ...params, tkVersion: 42 }))).toEqual({
      version: 1,
      alg: 2,
      tkVersion: 42,
    });
  });

  it('rejects a buffer shorter than header plus tag', () => {
    expect(() => readHeader(seal(tk, Buffer.alloc(0), params).subarray(0, 97))).toThrow(
      InvalidCiphertextError,
    );
  });
});

describe('key derivation', () => {
  it('matches crypto.hkdfSync (RFC 5869) byte for byte', () => {
    for (const infoLen of [0, 1, 100, 1024]) {
      const ikm = randomBytes(32);
      const salt = randomBytes(32);
      const info = randomBytes(infoLen);
      const want = Buffer.from(hkdfSync('sha256', ikm, salt, info, 64));
      const { key, commitment } = hkdfSha256x64(ikm, salt, info);
      expect(Buffer.concat([key, commitment])).toEqual(want);
      for (const { backend } of backends) {
        const derived = backend.hkdf64(ikm, salt, info);
        expect({ backend: backend.name, okm: Buffer.concat([derived.key, derived.commitment]) }).toEqual({
          backend: backend.name,
          okm: want,
        });
      }
    }
  });

  it('gives the same 64 bytes on every backend for info past the 1024-byte cap of hkdfSync', () => {
    const [ikm, salt, info] = [randomBytes(32), randomBytes(32), randomBytes(4500)];
    const { key, commitment } = hkdfSha256x64(ikm, salt, info);
    for (const { backend } of backends) {
      const derived = backend.hkdf64(ikm, salt, info);
      expect(Buffer.concat([derived.key, derived.commitment])).toEqual(Buffer.concat([key, commitment]));
    }
  });

  it('encodes the AAD with length prefixes, so field boundaries cannot shift', () => {
    const header = Buffer.alloc(50, 1);
    expect(canonicalAad(header, 'ab', '{}').equals(canonicalAad(header, 'a', 'b{}'))).toBe(false);
    const aad = canonicalAad(header, 'té', '{"a":"b"}');
    expect(aad.readUInt32BE(0)).toBe(50);
    expect(aad.readUInt32BE(54)).toBe(3);
    expect(aad.readUInt32BE(61)).toBe(9);
    expect(aad).toHaveLength(12 + 50 + 3 + 9);
  });
});

describe('generateTenantKey / zeroize', () => {
  it('generates distinct 32-byte keys', () => {
    const a = generateTenantKey();
    expect(a).toHaveLength(TENANT_KEY_BYTES);
    expect(a.equals(generateTenantKey())).toBe(false);
  });

  it('zeroes a buffer and ignores undefined', () => {
    const b = randomBytes(32);
    zeroize(b);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(() => zeroize(undefined)).not.toThrow();
  });
});
