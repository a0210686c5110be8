/** Version byte of the PKCS#11 wrapped-blob format. */
export const PKCS11_BLOB_V1 = 0x01;
/** GCM IV: 96 bits, random per wrap (NIST SP 800-38D §8.2.2). */
export const IV_BYTES = 12;
/** GCM tag: 128 bits. */
export const TAG_BYTES = 16;
/** Largest data key a wrap accepts. */
export const MAX_DATA_KEY_BYTES = 64;
const HEADER_BYTES = 1 + IV_BYTES;

/** A decoded v1 blob: the IV and the HSM's ciphertext with its tag appended. */
export interface Pkcs11WrappedBlob {
  iv: Buffer;
  sealed: Buffer;
}

/** Encodes `0x01 | iv (12) | ciphertext | tag (16)`. */
export function encodePkcs11Blob(iv: Uint8Array, sealed: Uint8Array): Buffer {
  if (iv.byteLength !== IV_BYTES) throw new RangeError('IV must be 12 bytes');
  return Buffer.concat([Buffer.of(PKCS11_BLOB_V1), iv, sealed]);
}

/** Decodes {@link encodePkcs11Blob}; undefined for an unknown version or a length no wrap produces. */
export function decodePkcs11Blob(blob: Uint8Array): Pkcs11WrappedBlob | undefined {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const sealedLength = buf.length - HEADER_BYTES;
  if (buf[0] !== PKCS11_BLOB_V1) return undefined;
  if (sealedLength < TAG_BYTES + 1 || sealedLength > TAG_BYTES + MAX_DATA_KEY_BYTES) return undefined;
  return { iv: Buffer.from(buf.subarray(1, HEADER_BYTES)), sealed: Buffer.from(buf.subarray(HEADER_BYTES)) };
}
