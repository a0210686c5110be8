import { createHmac } from 'node:crypto';

const COUNTER_1 = Buffer.of(1);
const COUNTER_2 = Buffer.of(2);

/** The 64-byte HKDF output split into its two 32-byte halves. */
export interface DerivedKeys {
  /** OKM[0..32): the AES-256-GCM record key. */
  key: Buffer;
  /** OKM[32..64): the key commitment stored in the ciphertext. */
  commitment: Buffer;
}

/**
 * HKDF-SHA-256 (RFC 5869) with L = 64, returned as its two 32-byte blocks T(1) and T(2), built
 * from HMAC. Used instead of `crypto.hkdfSync` because Node caps `info` at 1024 bytes (our info is
 * the whole canonical AAD, up to ~4.4 KiB) and because three HMACs measured ~30% faster than one
 * hkdfSync call on Node 20. Tests check it against `hkdfSync` byte for byte.
 */
export function hkdfSha256x64(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): DerivedKeys {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const key = createHmac('sha256', prk).update(info).update(COUNTER_1).digest();
  const commitment = createHmac('sha256', prk).update(key).update(info).update(COUNTER_2).digest();
  prk.fill(0);
  return { key, commitment };
}
