import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KmsError, type EncryptionContext } from '@byok/kms';

/** Data keys this adapter wraps are exactly 32 bytes (AES-256). */
export const DATA_KEY_BYTES = 32;
const DIGEST_BYTES = 32;
/** Random bytes appended so that deterministic A256KW still gives a fresh blob per wrap. */
const NONCE_BYTES = 16;
/** What goes to Key Vault: data key, SHA-256 of the canonical context, nonce (80 bytes). */
export const BOUND_KEY_BYTES = DATA_KEY_BYTES + DIGEST_BYTES + NONCE_BYTES;

/** Canonical JSON of an encryption context: keys sorted by code unit, string values only. */
export function canonicalContext(ctx: EncryptionContext): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(ctx).sort()) {
    const v = ctx[k];
    if (typeof v !== 'string') {
      throw new KmsError('KMS_MISCONFIGURED', `encryption context value for "${k}" must be a string`, {
        provider: 'azure-kv',
      });
    }
    sorted[k] = v;
  }
  return JSON.stringify(sorted);
}

/** SHA-256 of {@link canonicalContext}. */
export function contextDigest(ctx: EncryptionContext): Buffer {
  return createHash('sha256').update(canonicalContext(ctx), 'utf8').digest();
}

/**
 * Key Vault wrapKey has no AAD, so the context is bound by wrapping
 * `dataKey || SHA-256(ctx) || nonce(16)`: only a caller presenting the same context gets the
 * data key back. The nonce matters for A256KW (RFC 3394 is deterministic): without it the same
 * data key under the same context would give the same blob, revealing equal keys.
 */
export function bindContext(dataKey: Uint8Array, ctx: EncryptionContext): Buffer {
  return Buffer.concat([dataKey, contextDigest(ctx), randomBytes(NONCE_BYTES)]);
}

/**
 * Checks the context digest in constant time and returns a copy of the data key; the caller
 * zeroes `bound`. Undefined when the length or the digest does not match.
 */
export function unbindContext(bound: Uint8Array, ctx: EncryptionContext): Buffer | undefined {
  if (bound.byteLength !== BOUND_KEY_BYTES) return undefined;
  const buf = Buffer.from(bound.buffer, bound.byteOffset, bound.byteLength);
  const expected = contextDigest(ctx);
  if (!timingSafeEqual(buf.subarray(DATA_KEY_BYTES, DATA_KEY_BYTES + DIGEST_BYTES), expected))
    return undefined;
  return Buffer.from(buf.subarray(0, DATA_KEY_BYTES));
}
