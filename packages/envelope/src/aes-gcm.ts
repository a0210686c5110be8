import { AES_KEY_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES, type EnvelopeBackend } from './backend.js';
import { InvalidArgumentError, InvalidCiphertextError, InvalidKeyError, needs } from './errors.js';

export { AES_KEY_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES } from './backend.js';

const invalidKey = (rule: string) => new InvalidKeyError(rule);
const invalidCiphertext = () => new InvalidCiphertextError();

/** A Buffer view over `bytes` without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Our AES-256-GCM wrapper on one backend: 32-byte key, 12-byte IV and 16-byte tag enforced (Node
 * accepts shorter tags on decrypt unless `authTagLength` is set; both backends pin it to 16).
 */
export function aesGcmWith(backend: EnvelopeBackend) {
  return {
    /** Encrypts `plaintext`; returns the ciphertext (same length) and the 16-byte tag. */
    seal(
      key: Uint8Array,
      iv: Uint8Array,
      plaintext: Uint8Array,
      aad: Uint8Array,
    ): { ciphertext: Buffer; tag: Buffer } {
      needs(key.byteLength === AES_KEY_BYTES, 'AES-256-GCM key must be 32 bytes', invalidKey);
      needs(
        iv.byteLength === GCM_IV_BYTES,
        'AES-GCM IV must be 12 bytes',
        (r) => new InvalidArgumentError(r),
      );
      const ciphertext = Buffer.allocUnsafe(plaintext.byteLength);
      const tag = Buffer.allocUnsafe(GCM_TAG_BYTES);
      backend.gcmSeal(key, iv, aad, plaintext, ciphertext, tag);
      return { ciphertext, tag };
    },

    /**
     * Decrypts and authenticates; throws {@link InvalidCiphertextError} on any failure and returns
     * plaintext only after the tag has been verified.
     */
    open(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer {
      needs(key.byteLength === AES_KEY_BYTES, 'AES-256-GCM key must be 32 bytes', invalidKey);
      needs(iv.byteLength === GCM_IV_BYTES, 'AES-GCM IV must be 12 bytes', invalidCiphertext);
      needs(tag.byteLength === GCM_TAG_BYTES, 'AES-GCM tag must be 16 bytes', invalidCiphertext);
      const plaintext = backend.gcmOpen(key, iv, aad, ciphertext, tag);
      if (plaintext === undefined) throw new InvalidCiphertextError();
      return plaintext;
    },
  };
}
