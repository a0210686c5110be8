import { describe, expect, it } from '@jest/globals';
import { PKCS11_BLOB_V1, decodePkcs11Blob, encodePkcs11Blob } from './pkcs11-wrapped-blob.js';

const iv = Buffer.alloc(12, 0xaa);

describe('PKCS#11 wrapped blob v1', () => {
  it('lays out version, IV, then ciphertext and tag (pinned)', () => {
    const sealed = Buffer.alloc(32 + 16, 0x55);
    const blob = encodePkcs11Blob(iv, sealed);
    expect(blob.length).toBe(1 + 12 + 48);
    expect(blob.subarray(0, 13).toString('hex')).toBe(`01${'aa'.repeat(12)}`);
    expect(decodePkcs11Blob(blob)).toEqual({ iv, sealed });
  });

  it('refuses an unknown version byte', () => {
    const blob = encodePkcs11Blob(iv, Buffer.alloc(48));
    blob[0] = PKCS11_BLOB_V1 + 1;
    expect(decodePkcs11Blob(blob)).toBeUndefined();
  });

  it('refuses lengths no wrap produces: empty, no data key, over 64 bytes of data key', () => {
    expect(decodePkcs11Blob(new Uint8Array())).toBeUndefined();
    expect(decodePkcs11Blob(encodePkcs11Blob(iv, Buffer.alloc(16)))).toBeUndefined();
    expect(decodePkcs11Blob(encodePkcs11Blob(iv, Buffer.alloc(17)))).toBeDefined();
    expect(decodePkcs11Blob(encodePkcs11Blob(iv, Buffer.alloc(64 + 16)))).toBeDefined();
    expect(decodePkcs11Blob(encodePkcs11Blob(iv, Buffer.alloc(64 + 17)))).toBeUndefined();
  });

  it('reads a blob that is a view into a larger buffer', () => {
    const blob = encodePkcs11Blob(iv, Buffer.alloc(48, 1));
    const big = Buffer.concat([Buffer.alloc(7), blob, Buffer.alloc(5)]);
    expect(decodePkcs11Blob(big.subarray(7, 7 + blob.length))?.sealed.equals(Buffer.alloc(48, 1))).toBe(true);
  });
});
